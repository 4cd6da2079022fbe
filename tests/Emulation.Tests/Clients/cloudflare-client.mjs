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
await client.d1.database.delete(created.uuid, { account_id });

let missing;
try {
  await client.d1.database.get(created.uuid, { account_id });
} catch (error) {
  missing = { status: error.status, name: error.constructor.name };
}

console.log(JSON.stringify({ accounts, namespaces, created: { uuid: created.uuid, name: created.name }, fetched: fetched.name, rows, missing }));
