// Cloudflare's official TypeScript/Node client (npm `cloudflare`, pinned in workers/) against the
// local API, as a developer would use it: ClientTests runs this and checks what it prints.
// Environment: WORKERS_DIR (where the client is installed), CF_API, CF_TOKEN, CF_ACCOUNT, DB_NAME.
import { createRequire } from "node:module";
import path from "node:path";

const Cloudflare = createRequire(path.join(process.env.WORKERS_DIR, "package.json"))("cloudflare").default;
const client = new Cloudflare({ apiToken: process.env.CF_TOKEN, baseURL: process.env.CF_API, maxRetries: 0 });
const account_id = process.env.CF_ACCOUNT;

const accounts = [];
for await (const account of client.accounts.list()) accounts.push(account.id);

// Auto-pagination: page after page (one a page) until the client finds the end.
const namespaces = [];
for await (const namespace of client.kv.namespaces.list({ account_id, per_page: 1 })) namespaces.push(namespace.title);

const created = await client.d1.database.create({ account_id, name: process.env.DB_NAME, jurisdiction: "eu" });
const fetched = await client.d1.database.get(created.uuid, { account_id });
const rows = [];
for await (const result of client.d1.database.query(created.uuid, {
  account_id,
  sql: "SELECT ? AS greeting",
  params: ["hello from the official client"],
})) rows.push(...result.results);
const raw = [];
for await (const result of client.d1.database.raw(created.uuid, { account_id, sql: "SELECT 1 AS one, 'two' AS two" })) raw.push(result.results);
await client.d1.database.delete(created.uuid, { account_id });

let missing;
try {
  await client.d1.database.get(created.uuid, { account_id });
} catch (error) {
  missing = { status: error.status, name: error.constructor.name };
}

// KV keys and values in a namespace no Worker binds: single and bulk writes, reads, a cursor-paged
// listing (10 a page, the smallest KV allows), deletes.
const kv = await client.kv.namespaces.create({ account_id, title: `${process.env.DB_NAME}-kv` });
const namespace_id = kv.id;
await client.kv.namespaces.values.update("a key/with+chars", { account_id, namespace_id, value: "hello kv", metadata: { owner: "acme" } });
const value = await (await client.kv.namespaces.values.get("a key/with+chars", { account_id, namespace_id })).text();
await client.kv.namespaces.keys.bulkUpdate(namespace_id, {
  account_id,
  body: Array.from({ length: 25 }, (_, i) => ({ key: `bulk-${String(i).padStart(2, "0")}`, value: `value ${i}` })),
});
const listed = [];
for await (const key of client.kv.namespaces.keys.list(namespace_id, { account_id, limit: 10 })) listed.push(key.name);
const bulkRead = await client.kv.namespaces.keys.bulkGet(namespace_id, { account_id, keys: ["bulk-00", "bulk-24", "absent"] });
await client.kv.namespaces.keys.bulkDelete(namespace_id, { account_id, body: listed.filter((k) => k.startsWith("bulk-")) });
await client.kv.namespaces.values.delete("a key/with+chars", { account_id, namespace_id });
const left = [];
for await (const key of client.kv.namespaces.keys.list(namespace_id, { account_id })) left.push(key.name);
await client.kv.namespaces.delete(namespace_id, { account_id });

console.log(JSON.stringify({
  accounts, namespaces, created: { uuid: created.uuid, name: created.name }, fetched: fetched.name, rows, raw, missing,
  kv: { value, listed, bulkRead: bulkRead.values, left },
}));
