// R2 and KV bindings behind the emulator's fault rules and KV's propagation delay
// (storage-bindings.js) on real workerd: one small Miniflare with a Worker bound to a faulted bucket
// and namespace, as every stack's are (stacks.mjs faultedStorage). Each test sets the binding's
// rules through its control key and runs one operation inside the Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { faultedStorage } from "../stacks.mjs";

const workersDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../workers");
const { Miniflare } = createRequire(path.join(workersDir, "package.json"))("miniflare");

const WORKER = `
const control = (binding) => binding[Symbol.for("cloudflare-emulator.binding")];
const outcome = async (run) => {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, name: error.name, message: error.message, code: error.code };
  }
};
export default {
  async fetch(request, env) {
    const { binding, rules = [], staleness, op } = await request.json();
    const target = env[binding];
    control(target).faults.set(rules);
    if (staleness) control(target).staleness.set(staleness);
    const ops = {
      r2Put: () => env.FILES.put("a.txt", "new").then((o) => o.key),
      r2Get: () => env.FILES.get("a.txt").then((o) => o && o.text()),
      r2List: () => env.FILES.list().then((l) => l.objects.length),
      kvPut: () => env.CACHE.put("role:1", JSON.stringify({ role: "admin" })).then(() => "put"),
      kvGet: () => env.CACHE.get("role:1", "json"),
      demote: async () => {
        await env.CACHE.delete("role:1");
        const seen = await env.CACHE.get("role:1", { type: "json" });
        const withMetadata = await env.CACHE.getWithMetadata("role:1", "text");
        return { seen, withMetadata };
      },
      fresh: async () => env.CACHE.get("role:1", "json"),
    };
    return Response.json(await outcome(ops[op]));
  },
};`;

let mf;
before(async () => {
  const { bindings, worker } = faultedStorage({ FILES: "files-bucket" }, { CACHE: "cache-ns" });
  mf = new Miniflare({
    workers: [
      { name: "main", modules: [{ type: "ESModule", path: "main.js", contents: WORKER }], compatibilityDate: "2026-07-01", wrappedBindings: bindings },
      worker,
    ],
  });
  await mf.ready;
});
after(() => mf?.dispose());

async function run(body) {
  const response = await mf.dispatchFetch("http://localhost/", { method: "POST", body: JSON.stringify(body) });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

const r2Rule = (operation, message, code) => ({ service: "r2", operation, probability: 1, message, code, latencyMs: 0, jitterMs: 0 });

test("an R2 rule fails its operation as the binding does: '<action>: <text> (<code>)', an R2Error with the code", { timeout: 30_000 }, async () => {
  const failed = await run({ binding: "FILES", op: "r2Put", rules: [r2Rule("put", "Reduce your concurrent request rate for the same object.", 10058)] });
  assert.deepEqual(failed, { ok: false, name: "R2Error", message: "put: Reduce your concurrent request rate for the same object. (10058)", code: 10058 });
  // Other operations, and the same one without the rule, reach the real bucket.
  assert.deepEqual(await run({ binding: "FILES", op: "r2List", rules: [r2Rule("put", "x", 10001)] }), { ok: true, value: 0 });
  assert.deepEqual(await run({ binding: "FILES", op: "r2Put" }), { ok: true, value: "a.txt" });
  assert.deepEqual(await run({ binding: "FILES", op: "r2Get" }), { ok: true, value: "new" });
});

test("a KV rule on put throws the binding's own text; gets go on", { timeout: 30_000 }, async () => {
  const rule = { service: "kv", operation: "put", probability: 1, message: "KV PUT failed: 429 Too Many Requests", latencyMs: 0, jitterMs: 0 };
  assert.deepEqual(await run({ binding: "CACHE", op: "kvPut", rules: [rule] }), { ok: false, name: "Error", message: "KV PUT failed: 429 Too Many Requests" });
  assert.deepEqual(await run({ binding: "CACHE", op: "kvGet", rules: [rule] }), { ok: true, value: null });
});

test("with a propagation delay, a deleted key reads as it was until the delay has passed", { timeout: 30_000 }, async () => {
  assert.deepEqual(await run({ binding: "CACHE", op: "kvPut", staleness: { delayMs: 0 } }), { ok: true, value: "put" });
  const stale = await run({ binding: "CACHE", op: "demote", staleness: { delayMs: 1500, probability: 1 } });
  assert.deepEqual(stale.value.seen, { role: "admin" });
  assert.equal(stale.value.withMetadata.value, JSON.stringify({ role: "admin" }));
  await new Promise((resolve) => setTimeout(resolve, 1600));
  assert.deepEqual(await run({ binding: "CACHE", op: "fresh" }), { ok: true, value: null });
  // A key written within the delay reads as the miss it was before.
  assert.deepEqual(await run({ binding: "CACHE", op: "kvPut", staleness: { delayMs: 1500 } }), { ok: true, value: "put" });
  assert.deepEqual(await run({ binding: "CACHE", op: "fresh" }), { ok: true, value: null });
  // Without a delay a deletion is seen at once.
  assert.deepEqual(await run({ binding: "CACHE", op: "kvPut", staleness: { delayMs: 0 } }), { ok: true, value: "put" });
  const immediate = await run({ binding: "CACHE", op: "demote", staleness: { delayMs: 0 } });
  assert.equal(immediate.value.seen, null);
});
