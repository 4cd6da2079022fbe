// The per-invocation meter (invocation-meter.js) around bindings shaped as a stack's are: a D1
// binding with its control key, an R2 bucket and a KV namespace whose calls answer later. The meter
// itself is plain JavaScript; on workerd it runs as stacks.mjs puts it (LoadRunTests drives it there).
import { test } from "node:test";
import assert from "node:assert/strict";
import { endInvocation, invocationUsage, meteredEnv, resetPeaks, startInvocation } from "../invocation-meter.js";

const BINDING = Symbol.for("cloudflare-emulator.binding");
const later = (value) => new Promise((resolve) => setTimeout(() => resolve(value), 5));

function fakeEnv() {
  const statement = (sql) => ({ sql, bind: () => statement(sql), all: () => later({ results: [] }), run: () => later({}), first: () => later(null) });
  const ran = [];
  const db = {
    [BINDING]: { service: "d1" },
    prepare: statement,
    batch: (statements) => (ran.push(statements), later(statements.map(() => ({})))),
    withSession: () => ({ prepare: statement, batch: () => later([]), getBookmark: () => "bookmark" }),
  };
  const bucket = { [BINDING]: { service: "r2" }, get: () => later(null), put: () => later({}), resumeMultipartUpload: () => ({ sync: true }) };
  const cache = { [BINDING]: { service: "kv" }, get: () => later(null) };
  return { env: { DB: db, FILES: bucket, CACHE: cache, NAME: "plain" }, ran };
}

const request = (length) => new Request("http://acct/", { method: "POST", headers: length === undefined ? {} : { "content-length": String(length) } });

test("an invocation's D1 statements, storage calls and R2/KV calls in flight at once (not D1's) are counted; its largest become the stack's", async () => {
  const { env, ran } = fakeEnv();
  const before = invocationUsage.requests;
  const invocation = startInvocation(request(1234));
  const metered = meteredEnv(env, invocation);
  assert.equal(metered.NAME, "plain");
  assert.equal(metered.DB[BINDING].service, "d1");
  await metered.DB.prepare("SELECT 1").bind(1).all();
  await metered.DB.batch([metered.DB.prepare("INSERT 1"), metered.DB.prepare("INSERT 2"), metered.DB.prepare("INSERT 3")]);
  // The real statements reach the binding's batch, not the meter's wrappers.
  assert.deepEqual(ran[0].map((s) => s.sql), ["INSERT 1", "INSERT 2", "INSERT 3"]);
  const session = metered.DB.withSession("first-primary");
  await session.prepare("SELECT 2").first();
  assert.equal(session.getBookmark(), "bookmark");
  await Promise.all([metered.FILES.get("a"), metered.FILES.put("b", "x"), metered.CACHE.get("k"), metered.DB.prepare("SELECT 3").all()]);
  assert.deepEqual(metered.FILES.resumeMultipartUpload("k", "id"), { sync: true });
  endInvocation(invocation);
  assert.deepEqual(
    { d1: invocation.d1Queries, storage: invocation.storageOperations, inFlight: invocation.maxInFlight, body: invocation.bodyBytes },
    { d1: 6, storage: 3, inFlight: 3, body: 1234 },
  );
  assert.equal(invocationUsage.requests, before + 1);
  assert.ok(invocationUsage.maxD1Queries >= 6 && invocationUsage.maxSubrequests >= 9 && invocationUsage.maxConcurrentCalls >= 3 && invocationUsage.maxRequestBodyBytes >= 1234);
});

test("a request without a length counts no body bytes, and a failed call leaves nothing in flight", async () => {
  const invocation = startInvocation(request(undefined));
  const metered = meteredEnv({ FILES: { [BINDING]: { service: "r2" }, get: () => Promise.reject(new Error("get: boom (10001)")) } }, invocation);
  await assert.rejects(metered.FILES.get("a"), /boom/);
  assert.equal(invocation.inFlight, 0);
  assert.equal(invocation.bodyBytes, 0);
  assert.equal(invocation.storageOperations, 1);
});

test("the peaks start again on demand; the request count goes on", () => {
  const invocation = startInvocation(request(999));
  endInvocation(invocation);
  const requests = invocationUsage.requests;
  resetPeaks();
  assert.deepEqual(
    [invocationUsage.maxD1Queries, invocationUsage.maxSubrequests, invocationUsage.maxConcurrentCalls, invocationUsage.maxRequestBodyBytes],
    [0, 0, 0, 0],
  );
  assert.equal(invocationUsage.requests, requests);
});
