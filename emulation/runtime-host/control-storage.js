// KV namespaces and R2 buckets as the control entrypoint (control-entrypoint.js) serves them to the
// local Cloudflare API: what Cloudflare's v4 routes for KV keys and values and R2 objects do, done
// through the stack's own bindings, so the API reads and writes exactly what the Worker sees.
// Keys arrive URI-encoded as one path segment; values and objects travel as raw bytes.

const KV_METADATA = "x-kv-metadata";

/** A KV route (/kv/<binding>/…), or null when the path is not one. */
export function kvRoute(request, env, url) {
  const match = url.pathname.match(/^\/kv\/([A-Za-z_][A-Za-z0-9_]*)\/(keys|bulk|bulk\/delete|bulk\/get|values\/(.+)|metadata\/(.+))$/);
  if (!match) return null;
  const namespace = env[match[1]];
  if (!namespace || typeof namespace.list !== "function") return Response.json({ error: `no KV binding named ${match[1]}` }, { status: 404 });
  const [, , route, valueKey, metadataKey] = match;
  if (route === "keys" && request.method === "GET") return listKeys(namespace, url.searchParams);
  if (route === "bulk" && request.method === "PUT") return bulkPut(namespace, request);
  if (route === "bulk/delete" && request.method === "POST") return bulkDelete(namespace, request);
  if (route === "bulk/get" && request.method === "POST") return bulkGet(namespace, request);
  if (metadataKey && request.method === "GET") return readMetadata(namespace, decodeURIComponent(metadataKey));
  if (valueKey) {
    const key = decodeURIComponent(valueKey);
    if (request.method === "GET") return readValue(namespace, key);
    if (request.method === "PUT") return writeValue(namespace, key, request, url.searchParams);
    if (request.method === "DELETE") return namespace.delete(key).then(() => Response.json({ ok: true }));
  }
  return Response.json({ error: "not found" }, { status: 404 });
}

/** An R2 route (/r2/<binding>/objects/<key>), or null when the path is not one. */
export function r2Route(request, env, url) {
  const match = url.pathname.match(/^\/r2\/([A-Za-z_][A-Za-z0-9_]*)\/objects\/(.+)$/);
  if (!match) return null;
  const bucket = env[match[1]];
  if (!bucket || typeof bucket.put !== "function") return Response.json({ error: `no R2 binding named ${match[1]}` }, { status: 404 });
  const key = decodeURIComponent(match[2]);
  if (request.method === "GET") return readObject(bucket, key);
  if (request.method === "PUT") return writeObject(bucket, key, request);
  if (request.method === "DELETE") return bucket.delete(key).then(() => Response.json({ ok: true }));
  return Response.json({ error: "not found" }, { status: 404 });
}

async function listKeys(namespace, params) {
  const limit = Number(params.get("limit") ?? 1000);
  const page = await namespace.list({ prefix: params.get("prefix") ?? undefined, cursor: params.get("cursor") || undefined, limit });
  return Response.json({
    keys: page.keys.map(({ name, expiration, metadata }) => ({ name, ...(expiration ? { expiration } : {}), ...(metadata !== undefined ? { metadata } : {}) })),
    list_complete: page.list_complete,
    cursor: page.list_complete ? "" : page.cursor,
  });
}

async function readValue(namespace, key) {
  const { value, metadata } = await namespace.getWithMetadata(key, "arrayBuffer");
  if (value === null) return Response.json({ error: "key not found" }, { status: 404 });
  const headers = { "content-type": "application/octet-stream" };
  if (metadata !== null && metadata !== undefined) headers[KV_METADATA] = JSON.stringify(metadata);
  return new Response(value, { headers });
}

async function readMetadata(namespace, key) {
  const { value, metadata } = await namespace.getWithMetadata(key, "stream");
  if (value === null) return Response.json({ error: "key not found" }, { status: 404 });
  await value.cancel();
  return Response.json({ metadata: metadata ?? null });
}

async function writeValue(namespace, key, request, params) {
  const metadata = request.headers.get(KV_METADATA);
  await namespace.put(key, await request.arrayBuffer(), {
    ...expiryOf(params.get("expiration"), params.get("expiration_ttl")),
    ...(metadata ? { metadata: JSON.parse(metadata) } : {}),
  });
  return Response.json({ ok: true });
}

/** [{ key, value, base64?, expiration?, expiration_ttl?, metadata? }], as the v4 bulk write takes it. */
async function bulkPut(namespace, request) {
  const pairs = await request.json();
  const unsuccessful = [];
  for (const pair of pairs) {
    try {
      const value = pair.base64 ? Uint8Array.from(atob(pair.value), (c) => c.charCodeAt(0)) : pair.value;
      await namespace.put(pair.key, value, { ...expiryOf(pair.expiration, pair.expiration_ttl), ...(pair.metadata !== undefined ? { metadata: pair.metadata } : {}) });
    } catch {
      unsuccessful.push(pair.key);
    }
  }
  return Response.json({ successful_key_count: pairs.length - unsuccessful.length, unsuccessful_keys: unsuccessful });
}

async function bulkDelete(namespace, request) {
  const keys = await request.json();
  for (const key of keys) await namespace.delete(key);
  return Response.json({ successful_key_count: keys.length, unsuccessful_keys: [] });
}

/** { keys, type: "text" | "json", withMetadata }: each key's value (null when absent). */
async function bulkGet(namespace, request) {
  const { keys, type = "text", withMetadata = false } = await request.json();
  const values = {};
  for (const key of keys) {
    const { value, metadata } = await namespace.getWithMetadata(key, type === "json" ? "json" : "text");
    values[key] = withMetadata ? (value === null ? null : { value, metadata: metadata ?? null }) : value;
  }
  return Response.json({ values });
}

function expiryOf(expiration, ttl) {
  const options = {};
  if (expiration) options.expiration = Number(expiration);
  if (ttl) options.expirationTtl = Number(ttl);
  return options;
}

async function readObject(bucket, key) {
  const object = await bucket.get(key);
  if (object === null) return Response.json({ error: "The specified key does not exist." }, { status: 404 });
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("etag", object.httpEtag);
  headers.set("last-modified", object.uploaded.toUTCString());
  // The bytes as stored: an object stored gzip-encoded is not encoded a second time on the way out.
  return new Response(object.body, { headers, encodeBody: "manual" });
}

const HTTP_METADATA = {
  "content-type": "contentType",
  "content-language": "contentLanguage",
  "content-disposition": "contentDisposition",
  "content-encoding": "contentEncoding",
  "cache-control": "cacheControl",
  expires: "cacheExpiry",
};

async function writeObject(bucket, key, request) {
  const httpMetadata = {};
  for (const [header, field] of Object.entries(HTTP_METADATA)) {
    const value = request.headers.get(header);
    if (value) httpMetadata[field] = field === "cacheExpiry" ? new Date(value) : value;
  }
  const object = await bucket.put(key, request.body, { httpMetadata });
  return Response.json({ key: object.key, size: object.size, etag: object.etag, uploaded: object.uploaded.toISOString() });
}
