// Cloudflare's official client (npm `cloudflare`) driving the local API's custom hostnames (Cloudflare
// for SaaS), as a platform team's script would: create, list page by page, get, edit, delete, and the
// client's error for an invalid name. CloudflareClientTests runs this and checks what it prints.
// Environment: WORKERS_DIR, CF_API, CF_TOKEN, ZONE_ID, PREFIX.
import { createRequire } from "node:module";
import path from "node:path";

const Cloudflare = createRequire(path.join(process.env.WORKERS_DIR, "package.json"))("cloudflare").default;
const client = new Cloudflare({ apiToken: process.env.CF_TOKEN, baseURL: process.env.CF_API, maxRetries: 0 });
const zone_id = process.env.ZONE_ID;
const names = [1, 2, 3].map((i) => `${process.env.PREFIX}-${i}.example.org`);

const created = [];
for (const hostname of names) created.push(await client.customHostnames.create({ zone_id, hostname, ssl: { method: "txt", type: "dv" } }));
const listed = [];
for await (const hostname of client.customHostnames.list({ zone_id, per_page: 1 })) listed.push(hostname.hostname);
const fetched = await client.customHostnames.get(created[0].id, { zone_id });
const edited = await client.customHostnames.edit(created[0].id, { zone_id, custom_metadata: { account: "acme" } });
let invalid;
try {
  await client.customHostnames.create({ zone_id, hostname: "10.0.0.1", ssl: { method: "txt", type: "dv" } });
} catch (error) {
  invalid = { status: error.status, message: error.errors?.[0]?.message };
}
for (const hostname of created) await client.customHostnames.delete(hostname.id, { zone_id });
const left = [];
for await (const hostname of client.customHostnames.list({ zone_id })) left.push(hostname.hostname);

console.log(JSON.stringify({
  created: created.map((h) => ({ hostname: h.hostname, status: h.status, ssl: h.ssl?.status, ownership: h.ownership_verification?.name })),
  listed,
  fetched: fetched.hostname,
  metadata: edited.custom_metadata,
  invalid,
  left,
}));
