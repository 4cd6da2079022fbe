// The emulator's OTLP relay (ADR 0038): a Worker of its own in each traced stack's workerd, so in an
// isolate of its own, between the stack's Worker and the OTLP endpoint. The stack's isolate sends it
// its batches of spans and log records (trace-context.js: a JSON array of OTLP items); the relay puts
// them under the stack's resource and sends them on to the endpoint, whose headers (the dashboard's
// key) its ENDPOINT binding adds. The resource and the key stay outside the tenant's isolate: code
// there can send the relay only items for its own stack, and nothing else to the endpoint.
//
// env: ENDPOINT (the endpoint, an external service), EXPORT_URL (the endpoint's URL), RESOURCE (the
// stack's OTLP resource, as JSON text).
import { EXPORT_TIMEOUT_MS, MAX_EXPORT_BYTES, exportBody } from "./otlp.mjs";
import { arrayOfObjectsItems } from "./json-shape.mjs";

const SIGNALS = { "/v1/traces": "traces", "/v1/logs": "logs" };

/** The relay's fetch handler (named as well, for the node tests' loaders). */
export async function relayFetch(request, env) {
  const signal = SIGNALS[new URL(request.url).pathname];
  if (request.method !== "POST" || signal === undefined) return new Response("the relay takes POST /v1/traces and /v1/logs only", { status: 404 });
  const tooLarge = () => new Response(`body: at most ${MAX_EXPORT_BYTES} bytes of items`, { status: 413 });
  if (Number(request.headers.get("content-length") ?? 0) > MAX_EXPORT_BYTES) return tooLarge();
  const text = await request.text();
  // A body of unknown length is read, then measured (a character is at least one byte).
  if (text.length > MAX_EXPORT_BYTES) return tooLarge();
  // Whole objects of a JSON array: what is inside them cannot close the envelope they go into.
  const items = arrayOfObjectsItems(text);
  if (items === undefined) return new Response("body: a JSON array of OTLP items", { status: 400 });
  return env.ENDPOINT.fetch(`${env.EXPORT_URL}/v1/${signal}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: exportBody(signal, env.RESOURCE, [items]),
    signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
  });
}

export default { fetch: relayFetch };
