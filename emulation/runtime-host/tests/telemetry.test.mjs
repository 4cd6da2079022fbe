// Telemetry (ADR 0036): a stack Worker's invocations recorded around it and exported by its isolate
// (trace-context.js, run here on Node's own AsyncLocalStorage and fetch; on workerd in TelemetryTests),
// and the runtime host's metrics from their summaries (telemetry.mjs), sent as OTLP JSON — to a receiver
// in this test, to one that is down, and to one that never answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { InvocationRecord, IsolateExport, installTracing, loneRecord, tracedWorker } from "../trace-context.js";
import { StackMetrics, Telemetry, cpuMsOf, parseHeaders } from "../telemetry.mjs";
import { spawn } from "node:child_process";
import { relayFetch } from "../otlp-relay.js";
import { createRequire } from "node:module";
import { otlpRelay } from "../stacks.mjs";
import { MAX_EXPORT_BYTES, OTLP_BINDING, readRecordLine, stackResource } from "../otlp.mjs";
import { IdSource, incomingContext, traceparent } from "../trace-ids.mjs";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER = "b7ad6b7169203331";
const TRACING = Symbol.for("cloudflare-emulator.tracing");
const TAGS = { marker: "@@telemetry-test ", stack: "acct-a", tenant: "tenant-a" };

// Node's own fetch, as an isolate's OTLP binding reaches the endpoint: not the recorder's.
const nodeFetch = globalThis.fetch;
installTracing();

/** A server standing for the Worker a hop reaches: the traceparent each request carried. */
async function callee() {
  const seen = [];
  const server = http.createServer((request, response) => {
    seen.push(request.headers.traceparent);
    response.writeHead(200).end("ok");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/x?q=secret`, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Runs one invocation of a Worker that queries D1, reads KV, logs an error and calls another Worker; returns its record. */
async function busyInvocation(headers, hop, ctx = {}) {
  const lines = [];
  const worker = tracedWorker({
    async fetch() {
      await globalThis[TRACING].span("d1_all", { "db.query.text": "SELECT * FROM clients WHERE id = ?" }, async (span) => {
        span.attributes["cloudflare.d1.response.rows_read"] = 3;
      });
      await globalThis[TRACING].span("kv_get", { "cloudflare.kv.query.keys": "principal:u1" }, async () => null);
      await globalThis[TRACING].span("d1_run", {}, async () => {
        throw new Error("D1_ERROR: D1 DB is overloaded.");
      }).catch(() => {});
      console.error("database unavailable", { code: 7500 });
      await (await fetch(hop)).text();
      return new Response("listed", { status: 200 });
    },
  }, TAGS, (line) => lines.push(line), { maxRecords: 1 });
  const response = await worker.fetch(new Request("https://acct-a.emulator.workers.dev/api/clients?q=secret", { headers }), {}, ctx);
  assert.equal(await response.text(), "listed");
  assert.equal(lines.length, 1);
  assert.ok(lines[0].startsWith(TAGS.marker));
  return read(lines[0].slice(TAGS.marker.length));
}

/** A record line read back whole: OTLP spans and logs with their attributes as plain values. */
function read(line) {
  const { summary, spans, logs } = readRecordLine(line);
  const plain = (item) => ({ ...item, attributes: Object.fromEntries(item.attributes.map((a) => [a.key, Object.values(a.value)[0]])) });
  return { line, summary, spans: JSON.parse(`[${spans}]`).map(plain), logs: JSON.parse(`[${logs}]`).map(plain) };
}

for (const [how, ctx] of [["alone (a context with waitUntil)", () => ({ waitUntil() {} })], ["in AsyncLocalStorage (a context without waitUntil)", () => ({})]]) test(`an invocation continues the caller's trace, records each binding call and fetch, and passes its context on: ${how}`, async () => {
  const hop = await callee();
  const { spans, logs, summary } = await busyInvocation({ traceparent: traceparent(TRACE, CALLER), authorization: "Bearer token-of-a" }, hop.url, ctx());
  await hop.close();
  assert.deepEqual(spans.map((s) => s.name), ["GET /api/clients", "d1_all", "kv_get", "d1_run", "fetch"]);
  assert.ok(spans.every((s) => s.traceId === TRACE), "every span is in the caller's trace");
  const [root, d1, kv, failed, fetchSpan] = spans;
  assert.equal(root.parentSpanId, CALLER);
  assert.equal(root.kind, 2);
  assert.equal(root.attributes["http.response.status_code"], "200");
  assert.equal(root.attributes["url.path"], "/api/clients");
  assert.ok([d1, kv, failed, fetchSpan].every((s) => s.parentSpanId === root.spanId && s.kind === 3));
  assert.equal(d1.attributes["cloudflare.d1.response.rows_read"], "3");
  assert.deepEqual(failed.status, { code: 2, message: "D1_ERROR: D1 DB is overloaded." }, "a failed call marks its span");
  // The Worker called sees this fetch's span as its parent, in the same trace.
  assert.equal(incomingContext(hop.seen[0])?.traceId, TRACE);
  assert.equal(incomingContext(hop.seen[0])?.parentId, fetchSpan.spanId);
  assert.equal(fetchSpan.attributes["url.full"], hop.url.split("?")[0]);
  assert.equal(fetchSpan.attributes["http.response.status_code"], "200");
  for (const item of [...spans, ...logs]) assert.deepEqual([item.attributes["cloudflare.script_name"], item.attributes["tenant.id"]], ["acct-a", "tenant-a"]);
  // Neither the query string nor a header travels.
  assert.ok(!JSON.stringify(spans).includes("secret") && !JSON.stringify(spans).includes("token-of-a"));
  assert.deepEqual(logs.map((l) => [l.severityText, l.severityNumber, l.body.stringValue, l.traceId, l.spanId]), [["ERROR", 17, 'database unavailable {"code":7500}', TRACE, root.spanId]]);
  assert.equal(summary.status, 200);
  assert.deepEqual([summary.error, summary.d1Queries, summary.d1RowsRead, summary.kvOperations, summary.r2Operations], [false, 2, 3, 1, 0]);
});

test("a span's own attributes cannot take the stack's tags: each tag is on it once, with the stack's value; a span without attributes is recorded", async () => {
  const lines = [];
  const worker = tracedWorker({
    async fetch() {
      await globalThis[TRACING].span("kv_get", { "tenant.id": "tenant-b", "cloudflare.script_name": "acct-b", "cloudflare.binding.name": "CACHE" }, async () => null);
      await globalThis[TRACING].span("d1_all", undefined, async () => null);
      return new Response("ok");
    },
  }, TAGS, (line) => lines.push(line), { maxRecords: 1 });
  assert.equal(await (await worker.fetch(new Request("https://acct-a.emulator.workers.dev/x"), {}, {})).text(), "ok");
  const spans = JSON.parse(`[${readRecordLine(lines[0].slice(TAGS.marker.length)).spans}]`);
  assert.deepEqual(spans.map((span) => span.name), ["GET /x", "kv_get", "d1_all"]);
  for (const span of spans) {
    const tags = span.attributes.filter((a) => a.key === "tenant.id" || a.key === "cloudflare.script_name").map((a) => [a.key, a.value.stringValue]);
    assert.deepEqual(tags.sort(), [["cloudflare.script_name", "acct-a"], ["tenant.id", "tenant-a"]], span.name);
  }
  assert.ok(spans[1].attributes.some((a) => a.key === "cloudflare.binding.name"), "the span's other attributes stay");
});

test("without a valid traceparent an invocation starts a trace; one that throws is recorded failed with its exception; health probes are not recorded", async () => {
  const lines = [];
  const failing = tracedWorker({ fetch: async () => { throw new TypeError("x is undefined"); } }, TAGS, (line) => lines.push(line));
  await assert.rejects(failing.fetch(new Request("https://a/", { headers: { traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01" } }), {}, {}), TypeError);
  const { spans, logs, summary } = read(lines[0].slice(TAGS.marker.length));
  assert.match(spans[0].traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(spans[0].traceId, "0".repeat(32));
  assert.equal(spans[0].parentSpanId, undefined);
  assert.equal(spans[0].status.code, 2);
  assert.equal(summary.error, true);
  assert.deepEqual([logs[0].severityText, logs[0].attributes["exception.type"], logs[0].attributes["tenant.id"]], ["ERROR", "TypeError", "tenant-a"]);
  const probe = tracedWorker({ fetch: async () => new Response("ok") }, TAGS, (line) => lines.push(line));
  await probe.fetch(new Request("https://a/healthz"), {}, {});
  assert.equal(lines.length, 1, "a health probe leaves no record");
  // Outside an invocation (the control entrypoint), a binding call is no span and fetch is untouched.
  assert.equal(await globalThis[TRACING].span("d1_all", {}, async () => "ran"), "ran");
  const record = new InvocationRecord(new Request("https://a/b"));
  assert.equal(record.span("r2_resumeMultipartUpload", {}, () => "at once"), "at once");
  assert.equal(record.finish(204).spans.length, 1, "a call that answers at once is no span");
});

test("a traced fetch sends what the caller gave it (a Request's method, headers and body, or init's), leaves the caller's Request as it was, and adds only traceparent", async () => {
  const seen = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk)).on("end", () => {
      seen.push({ method: request.method, path: request.url, headers: request.headers, body });
      response.writeHead(201).end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const lines = [];
  let sent;
  const worker = tracedWorker({
    async fetch() {
      sent = new Request(`${base}/a?secret=1`, { method: "PUT", headers: { authorization: "Bearer t", "x-one": "1" }, body: "from the request" });
      await (await fetch(sent)).text();
      await (await fetch(new URL(`${base}/b#part`), { method: "post", headers: [["x-two", "2"]], body: "from init" })).text();
      await (await fetch(`${base}/c`, { headers: new Headers({ "x-three": "3" }) })).text();
      await (await fetch(new Request(`${base}/d`, { headers: { "x-four": "4" } }), { method: "PATCH", headers: { "x-five": "5" }, body: "patched" })).text();
      await (await fetch(`${base}/e`, new Request(`${base}/ignored`, { method: "DELETE", headers: { "x-six": "6" } }))).text();
      return new Response("ok");
    },
  }, TAGS, (line) => lines.push(line), { maxRecords: 1 });
  try {
    await worker.fetch(new Request("https://a/x"), {}, {});
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const [a, b, c, d, e] = seen;
  assert.deepEqual([a.method, a.path, a.headers.authorization, a.headers["x-one"], a.body], ["PUT", "/a?secret=1", "Bearer t", "1", "from the request"]);
  assert.deepEqual([b.method, b.path, b.headers["x-two"], b.body], ["POST", "/b", "2", "from init"]);
  assert.deepEqual([c.method, c.headers["x-three"]], ["GET", "3"]);
  assert.deepEqual([d.method, d.path, d.headers["x-four"], d.headers["x-five"], d.body], ["PATCH", "/d", undefined, "5", "patched"], "init's headers replace the Request's, as new Request(input, init) does");
  assert.deepEqual([e.method, e.path, e.headers["x-six"]], ["DELETE", "/e", "6"], "an init that is itself a Request");
  assert.equal(sent.headers.get("traceparent"), null, "the caller's Request is not changed");
  const { spans } = read(lines[0].slice(TAGS.marker.length));
  const fetches = spans.filter((span) => span.name === "fetch");
  assert.deepEqual(fetches.map((span) => [span.attributes["http.request.method"], span.attributes["url.full"], span.attributes["http.response.status_code"]]),
    [["PUT", `${base}/a`, "201"], ["POST", `${base}/b`, "201"], ["GET", `${base}/c`, "201"], ["PATCH", `${base}/d`, "201"], ["DELETE", `${base}/e`, "201"]]);
  assert.deepEqual(seen.map((request) => incomingContext(request.headers.traceparent)?.parentId), fetches.map((span) => span.spanId), "each carried its own span as the parent");
});

test("what runs after the answer is not recorded; a span still running is ended and marked; a bad fetch rejects as fetch does", async () => {
  const lines = [];
  let later;
  const worker = tracedWorker({
    async fetch() {
      // A call still running when the response goes, and another made after it (waitUntil).
      globalThis[TRACING].span("r2_get", {}, () => new Promise((resolve) => setTimeout(resolve, 50)));
      later = new Promise((resolve) => setTimeout(resolve, 10)).then(() => {
        console.log("after the answer");
        return globalThis[TRACING].span("kv_put", {}, async () => "written");
      });
      await assert.rejects(fetch("not a url"), TypeError);
      return new Response("ok");
    },
  }, TAGS, (line) => lines.push(line));
  await worker.fetch(new Request("https://a/x"), {}, {});
  assert.equal(await later, "written", "the call itself still runs");
  const { spans, logs } = read(lines[0].slice(TAGS.marker.length));
  assert.deepEqual(spans.map((s) => s.name), ["GET /x", "r2_get"]);
  assert.equal(spans[1].attributes["cloudflare.span.unfinished"], true);
  assert.equal(logs.length, 0);
  assert.equal(lines.length, 1);
});

test("an isolate's records are written together: one console write after the wait (kept by waitUntil), or at once when full", async () => {
  const writes = [];
  const waits = [];
  const ctx = { waitUntil: (promise) => waits.push(promise) };
  const worker = tracedWorker({ fetch: async () => new Response("ok") }, TAGS, (text) => writes.push(text), { delayMs: 20, maxRecords: 3 });
  await worker.fetch(new Request("https://a/one"), {}, ctx);
  await worker.fetch(new Request("https://a/two"), {}, ctx);
  assert.equal(writes.length, 0, "nothing written before the wait ends");
  assert.equal(waits.length, 1, "one wait for the lines waiting together");
  await Promise.all(waits);
  assert.equal(writes.length, 1);
  const lines = writes[0].split("\n");
  assert.deepEqual(lines.map((line) => read(line.slice(TAGS.marker.length)).spans[0].name), ["GET /one", "GET /two"]);
  assert.ok(lines.every((line) => line.startsWith(TAGS.marker)), "each line behind the marker, as the host reads them");
  // Three waiting lines are written at once, without waiting.
  for (const path of ["a", "b", "c"]) await worker.fetch(new Request(`https://a/${path}`), {}, ctx);
  assert.equal(writes.length, 2);
  assert.equal(writes[1].split("\n").length, 3);
  await Promise.all(waits);
  assert.equal(writes.length, 2, "a wait that finds nothing left writes nothing");
});

test("an isolate told to stop recording runs its Worker as untraced (no record, span or log; its env still without the binding) until told to record again", async () => {
  const lines = [];
  const posts = [];
  const envs = [];
  const binding = { fetch: async (url, init) => (posts.push({ url, body: init.body }), new Response("{}")) };
  const worker = tracedWorker(
    { fetch: async (request, env) => (envs.push(env), console.log("handled", new URL(request.url).pathname), new Response("ok")) },
    { ...TAGS, recording: false },
    (line) => lines.push(line),
    { maxRecords: 1 },
  );
  const waits = [];
  const ctx = { waitUntil: (promise) => waits.push(promise) };
  const env = { [OTLP_BINDING]: binding, VAR: "x" };
  const tracing = globalThis[TRACING];
  assert.equal(tracing.recording, false, "as the stack was started");
  assert.equal(await (await worker.fetch(new Request("https://a/quiet"), env, ctx)).text(), "ok");
  assert.deepEqual(envs[0], { VAR: "x" });
  assert.equal(loneRecord(), undefined, "no invocation was recorded");
  assert.deepEqual([lines, posts, waits], [[], [], []]);

  tracing.recording = true;
  await worker.fetch(new Request("https://a/loud"), env, ctx);
  await Promise.all(waits);
  assert.deepEqual(envs[1], { VAR: "x" });
  assert.deepEqual(lines.map((line) => Object.keys(JSON.parse(line.slice(TAGS.marker.length)))[0]), ["durationMs", "export"], "the summary and the first export's success, for the host");
  assert.equal(posts.length, 2, "spans and the console line");
  assert.match(posts[0].body, /"GET \/loud"/);
  assert.match(posts[1].body, /handled \/loud/);
  assert.doesNotMatch(posts.map((p) => p.body).join(), /quiet/);
});

/** A Worker whose invocations wait for `gates[path]`, then make a D1 call, log and fetch named after their path. */
function gatedWorker(gates, hop, lines) {
  return tracedWorker({
    async fetch(request) {
      const path = new URL(request.url).pathname.slice(1);
      await gates[path];
      await globalThis[TRACING].span(`d1_${path}`, {}, async () => "ran");
      console.log(`log of ${path}`);
      await (await fetch(`${hop}&from=${path}`)).text();
      return new Response(path);
    },
  }, TAGS, (line) => lines.push(line), { maxRecords: 1 });
}

test("overlapping invocations keep their own calls: the one running alone, and the one beside it in its own context", async () => {
  const hop = await callee();
  const lines = [];
  let openA;
  const gates = { a: new Promise((resolve) => (openA = resolve)), b: undefined };
  const worker = gatedWorker(gates, hop.url, lines);
  const ctx = () => ({ waitUntil() {} });
  const a = worker.fetch(new Request("https://a/a"), {}, ctx());
  assert.equal(loneRecord()?.root.name, "GET /a", "the first runs alone, without AsyncLocalStorage");
  await worker.fetch(new Request("https://a/b"), {}, ctx());
  openA();
  await a;
  assert.equal(loneRecord(), undefined, "the place is free once it answered");
  await hop.close();
  const byPath = Object.fromEntries(lines.map((line) => read(line.slice(TAGS.marker.length))).map((r) => [r.spans[0].name, r]));
  for (const path of ["a", "b"]) {
    const { spans, logs } = byPath[`GET /${path}`];
    assert.deepEqual(spans.map((s) => s.name), [`GET /${path}`, `d1_${path}`, "fetch"], `${path}'s record holds its own calls only`);
    assert.deepEqual(logs.map((l) => l.body.stringValue), [`log of ${path}`]);
  }
  assert.equal(hop.seen.length, 2);
  assert.equal(incomingContext(hop.seen[0])?.traceId, byPath["GET /b"].spans[0].traceId, "b's fetch (first) carried b's trace");
  assert.equal(incomingContext(hop.seen[1])?.traceId, byPath["GET /a"].spans[0].traceId, "a's fetch carried a's trace");
});

test("when the switch turns, an invocation that is not recorded never lends its calls to one that is, either way round", async () => {
  const hop = await callee();
  const lines = [];
  const tracing = globalThis[TRACING];
  const ctx = () => ({ waitUntil() {} });
  const names = (path) => lines.map((line) => read(line.slice(TAGS.marker.length))).find((r) => r.spans[0].name === `GET /${path}`)?.spans.map((s) => s.name);

  // Stopped while a recorded invocation runs alone: the next one, not recorded, runs beside it.
  let open;
  const gates = { rec: new Promise((resolve) => (open = resolve)) };
  const worker = gatedWorker(gates, hop.url, lines);
  const recorded = worker.fetch(new Request("https://a/rec"), {}, ctx());
  assert.equal(loneRecord()?.root.name, "GET /rec");
  tracing.recording = false;
  await worker.fetch(new Request("https://a/quiet"), {}, ctx());
  open();
  await recorded;
  assert.deepEqual(names("rec"), ["GET /rec", "d1_rec", "fetch"], "the recorded one holds its own calls only");
  assert.equal(names("quiet"), undefined, "the other is not recorded");

  // Started again while an invocation that is not recorded runs: the next one does not run alone.
  let openRecorded;
  gates.quiet2 = new Promise((resolve) => (open = resolve));
  gates.rec2 = new Promise((resolve) => (openRecorded = resolve));
  const quiet = worker.fetch(new Request("https://a/quiet2"), {}, ctx());
  tracing.recording = true;
  const next = worker.fetch(new Request("https://a/rec2"), {}, ctx());
  assert.equal(loneRecord(), undefined, "beside one not recorded, a recorded invocation runs in its own context");
  // The one not recorded makes its calls while the recorded one still runs.
  open();
  await quiet;
  openRecorded();
  await next;
  await hop.close();
  assert.deepEqual(names("rec2"), ["GET /rec2", "d1_rec2", "fetch"]);
  assert.equal(names("quiet2"), undefined);
  assert.equal(lines.length, 2);
});

test("work a lone invocation hands to waitUntil is never taken for the next invocation's, nor is the emulator's own", async () => {
  const lines = [];
  const late = [];
  let finishLate;
  const worker = tracedWorker({
    async fetch(request, env, ctx) {
      if (new URL(request.url).pathname === "/healthz") {
        await globalThis[TRACING].span("d1_probe", {}, async () => "ran");
      } else if (new URL(request.url).pathname === "/first") {
        ctx.waitUntil(new Promise((resolve) => (finishLate = resolve)).then(() => {
          console.log("late work of first");
          return globalThis[TRACING].span("kv_put", {}, async () => late.push("ran"));
        }));
      } else {
        await globalThis[TRACING].span("d1_second", {}, async () => "ran");
        // The emulator's control calls run outside every invocation (control-entrypoint.js).
        await globalThis[TRACING].outside(() => globalThis[TRACING].span("d1_control", {}, async () => "ran"));
        // A health probe meanwhile is no one's.
        await worker.fetch(new Request("https://a/healthz"), {}, { waitUntil() {} });
        finishLate();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return new Response("ok");
    },
  }, TAGS, (line) => lines.push(line), { maxRecords: 1 });
  const ctx = () => ({ waitUntil() {} });
  await worker.fetch(new Request("https://a/first"), {}, ctx());
  assert.equal(loneRecord()?.root.name, "GET /first", "the place is kept while its waitUntil work runs");
  await worker.fetch(new Request("https://a/second"), {}, ctx());
  assert.deepEqual(late, ["ran"], "the late call itself ran");
  const second = read(lines[1].slice(TAGS.marker.length));
  assert.deepEqual(second.spans.map((s) => s.name), ["GET /second", "d1_second"]);
  assert.deepEqual(second.logs, []);
});

test("a stack's CPU time never goes back when its workerd is replaced (a reload, a restart)", async () => {
  const metrics = new StackMetrics();
  const cpuOf = (points) => Number(points.find((m) => m.name === "cloudflare.worker.cpu_time").sum.dataPoints[0].asInt);
  const mine = cpuOf(metrics.otlp(Date.now(), process.pid));
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)"]);
  try {
    await new Promise((resolve) => child.once("spawn", resolve));
    const after = cpuOf(metrics.otlp(Date.now(), child.pid));
    assert.ok(after >= mine, `${after} after the process changed, ${mine} before`);
  } finally {
    child.kill();
  }
});

test("ids: W3C's sizes, lowercase hex, never repeated within an isolate, different between isolates", () => {
  const one = new IdSource();
  const spans = Array.from({ length: 1000 }, () => one.spanId());
  assert.ok(spans.every((id) => /^[0-9a-f]{16}$/.test(id)));
  assert.equal(new Set(spans).size, spans.length);
  assert.match(one.traceId(), /^[0-9a-f]{32}$/);
  assert.notEqual(new IdSource().traceId(), new IdSource().traceId());
  // A trace id made here is one a callee reads back.
  const trace = one.traceId();
  assert.equal(incomingContext(traceparent(trace, one.spanId()))?.traceId, trace);
});

test("traceparent: read only when well formed", () => {
  assert.equal(incomingContext(traceparent(TRACE, CALLER))?.traceId, TRACE);
  assert.equal(incomingContext(traceparent(TRACE, CALLER))?.parentId, CALLER);
  for (const bad of [undefined, "", "01-" + TRACE + "-" + CALLER + "-01", `00-${TRACE.toUpperCase()}-${CALLER}-01`, `00-${TRACE}-0000000000000000-01`, `00-${TRACE}-${CALLER}`]) {
    assert.equal(incomingContext(bad), undefined, String(bad));
  }
});

/** An OTLP/HTTP receiver on loopback: what each path received, and the headers it came with. */
async function receiver() {
  const received = [];
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (c) => chunks.push(c));
    request.on("end", () => {
      received.push({ path: request.url, headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

test("an isolate exports its spans and logs itself, as OTLP JSON under the stack's row, through its OTLP binding, which the Worker never sees; the host gets only summaries and exports the stack's metrics with the configured headers", async () => {
  const otlp = await receiver();
  const hop = await callee();
  const lines = [];
  const pending = [];
  const envs = [];
  const worker = tracedWorker({
    async fetch(request, env) {
      envs.push(env);
      await globalThis[TRACING].span("d1_all", { "db.query.text": "SELECT * FROM clients WHERE id = ?" }, async (span) => {
        span.attributes["cloudflare.d1.response.rows_read"] = 3;
      });
      await globalThis[TRACING].span("d1_run", {}, async () => {
        throw new Error("D1_ERROR: D1 DB is overloaded.");
      }).catch(() => {});
      console.error("database unavailable", { code: 7500 });
      await (await fetch(hop.url)).text();
      return new Response("listed");
    },
  }, TAGS, (line) => lines.push(line), { maxRecords: 2 });
  const env = { [OTLP_BINDING]: relayBinding(otlp.url), ACCOUNT_ID: "tenant-a" };
  const ctx = { waitUntil: (promise) => pending.push(promise) };
  for (let i = 0; i < 2; i++) await worker.fetch(new Request("https://acct-a.emulator.workers.dev/api/clients?q=secret", { headers: { traceparent: traceparent(TRACE, CALLER) } }), env, ctx);
  await Promise.all(pending);
  await hop.close();
  assert.deepEqual(envs.map((seen) => Object.keys(seen)), [["ACCOUNT_ID"], ["ACCOUNT_ID"]], "the Worker's env is its own");

  // The host's part: the two summaries, in one write, then that the isolate's exports succeed.
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[1].slice(TAGS.marker.length)), { export: "succeeded", dropped: 0 });
  const summaries = lines[0].split("\n").map((line) => line.slice(TAGS.marker.length));
  assert.equal(summaries.length, 2);
  assert.deepEqual(summaries.map((line) => readRecordLine(line)), summaries.map((line) => ({ summary: JSON.parse(line), spans: "", logs: "" })));
  const telemetry = Telemetry.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url + "/", OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-api-key=k%3D1" }, { processOf: () => process.pid });
  for (const line of [...summaries, lines[1].slice(TAGS.marker.length)]) telemetry.recordLine("acct-a", "a", line);
  telemetry.recordLine("acct-a", "a", "{not json");
  await telemetry.close();
  await otlp.close();

  const byPath = Object.fromEntries(otlp.received.map((r) => [r.path, r]));
  assert.deepEqual(otlp.received.map((r) => r.path).sort(), ["/v1/logs", "/v1/metrics", "/v1/traces"], "one export of each, the two invocations together");
  const service = (resource) => Object.fromEntries(resource.attributes.map((a) => [a.key, a.value.stringValue]));
  const [resourceSpans] = byPath["/v1/traces"].body.resourceSpans;
  assert.deepEqual(service(resourceSpans.resource), { "service.name": "a", "service.namespace": "cloudflare", "cloudflare.script_name": "acct-a" });
  const spans = resourceSpans.scopeSpans[0].spans;
  assert.deepEqual(spans.map((span) => span.name), ["GET /api/clients", "d1_all", "d1_run", "fetch", "GET /api/clients", "d1_all", "d1_run", "fetch"]);
  assert.equal(spans[0].traceId, TRACE);
  assert.equal(spans[0].parentSpanId, CALLER);
  assert.equal(BigInt(spans[0].endTimeUnixNano) - BigInt(spans[0].startTimeUnixNano), BigInt(JSON.parse(summaries[0]).durationMs) * 1_000_000n);
  assert.deepEqual(spans[1].attributes.find((a) => a.key === "cloudflare.d1.response.rows_read").value, { intValue: "3" });
  assert.deepEqual(spans[2].status, { code: 2, message: "D1_ERROR: D1 DB is overloaded." });
  const logs = byPath["/v1/logs"].body.resourceLogs[0];
  assert.deepEqual(service(logs.resource), service(resourceSpans.resource));
  assert.deepEqual(logs.scopeLogs[0].logRecords.map((log) => [log.severityText, log.severityNumber, log.traceId, log.body.stringValue]), [
    ["ERROR", 17, TRACE, 'database unavailable {"code":7500}'],
    ["ERROR", 17, TRACE, 'database unavailable {"code":7500}'],
  ]);
  assert.equal(byPath["/v1/traces"].headers["x-otlp-api-key"], undefined, "the relay's ENDPOINT adds the headers, in workerd (endpointService)");
  assert.equal(byPath["/v1/metrics"].headers["x-otlp-api-key"], "k=1");
  assert.deepEqual(byPath["/v1/metrics"].body.resourceMetrics[0].resource, stackResource("a", "acct-a"));
  const metrics = Object.fromEntries(byPath["/v1/metrics"].body.resourceMetrics[0].scopeMetrics[0].metrics.map((m) => [m.name, m]));
  assert.equal(metrics["cloudflare.worker.requests"].sum.dataPoints[0].asInt, "2");
  assert.equal(metrics["cloudflare.d1.queries"].sum.dataPoints[0].asInt, "4");
  assert.equal(metrics["cloudflare.d1.rows_read"].sum.dataPoints[0].asInt, "6");
  const latency = metrics["cloudflare.worker.duration"].histogram.dataPoints[0];
  assert.equal(latency.count, "2");
  assert.equal(latency.bucketCounts.reduce((sum, n) => sum + Number(n), 0), 2);
  assert.ok(Number(metrics["cloudflare.worker.cpu_time"].sum.dataPoints[0].asInt) > 0, "this process's CPU time, read from /proc");
});

/** A stack's OTLP binding as workerd wires it: the relay (otlp-relay.js) for stack `stack` (row `resource`), sending to `url`. */
function relayBinding(url, resource = "a", stack = "acct-a") {
  const env = { ENDPOINT: { fetch: nodeFetch }, EXPORT_URL: url, RESOURCE: JSON.stringify(stackResource(resource, stack)) };
  return { fetch: (input, init) => relayFetch(new Request(input, init), env) };
}

/** A loopback port nothing listens on (taken and let go). */
async function closedPort() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** One small encoded record, as RecordBatch hands an exporter. */
const RECORD = { summary: "{}", spans: '{"name":"GET /b"}', logs: "" };

test("a stack's relay sends on only a JSON array of items, for traces or logs, of a bounded size, under its own stack's resource", async () => {
  const otlp = await receiver();
  const binding = relayBinding(otlp.url, "a", "acct-a");
  const post = (path, body, method = "POST") => binding.fetch(`http://otlp-relay${path}`, { method, ...(method === "POST" ? { body } : {}) });
  const statuses = [];
  try {
    for (const [path, body, method] of [
      ["/v1/traces", "[]", "GET"],
      ["/v1/metrics", '[{"name":"x"}]'],
      ["/v1/traces", "{not json"],
      ["/v1/traces", '{"resourceSpans":[]}'],
      ["/v1/traces", '[{"name":"x"}],"resource":{"attributes":[]}'],
      ["/v1/traces", '[{"name":"x"}]}]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[{"spans":[{"name":"y"}'],
      ["/v1/logs", '[{"body":{"stringValue":"x"}}, 7]'],
      ["/v1/logs", `[{"body":{"stringValue":"${"x".repeat(MAX_EXPORT_BYTES)}"}}]`],
    ]) statuses.push((await post(path, body, method)).status);
    assert.deepEqual(statuses, [404, 404, 400, 400, 400, 400, 400, 413]);
    assert.equal(otlp.received.length, 0, "nothing reached the endpoint");
    assert.equal((await post("/v1/logs", ' [{"body":{"stringValue":"x"}}] ')).status, 200);
    // Text that would close the envelope, inside a string of a valid array: it stays that string.
    const sly = ']}]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}]},"scopeSpans":[{"spans":[{"name":"y"}';
    assert.equal((await post("/v1/traces", JSON.stringify([{ name: sly }]))).status, 200);
  } finally {
    await otlp.close();
  }
  const [sent, slyly] = otlp.received;
  assert.equal(sent.path, "/v1/logs");
  assert.deepEqual(sent.body.resourceLogs.map((r) => r.resource), [stackResource("a", "acct-a")]);
  assert.deepEqual(sent.body.resourceLogs[0].scopeLogs[0].logRecords, [{ body: { stringValue: "x" } }]);
  assert.deepEqual(slyly.body.resourceSpans.map((r) => r.resource), [stackResource("a", "acct-a")], "one resource, the stack's own");
  assert.match(slyly.body.resourceSpans[0].scopeSpans[0].spans[0].name, /^\]\}\]\}\]\},\{"resource"/);
});

test("a stack's relay refuses an export whose stated length is over the limit without reading its body", async () => {
  let pulled = false;
  const body = new ReadableStream({
    pull() {
      pulled = true;
      throw new Error("the relay read a body it should have refused");
    },
  }, { highWaterMark: 0 });
  const env = { ENDPOINT: { fetch: () => assert.fail("nothing reaches the endpoint") }, EXPORT_URL: "http://127.0.0.1:9", RESOURCE: "{}" };
  const request = new Request("http://otlp-relay/v1/traces", { method: "POST", body, duplex: "half", headers: { "content-length": String(MAX_EXPORT_BYTES + 1) } });
  const response = await relayFetch(request, env);
  assert.equal(response.status, 413);
  assert.match(await response.text(), /^body: at most \d+ bytes/);
  assert.equal(pulled, false, "the body was never read");
});

test("on workerd, a stack's relay reaches the endpoint with the headers it asks for (the dashboard's key), under the stack's resource", async () => {
  const { Miniflare } = createRequire(new URL("../../../workers/package.json", import.meta.url))("miniflare");
  const otlp = await receiver();
  const telemetry = Telemetry.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-api-key=k%3D1" });
  const relayWorker = otlpRelay(telemetry, "a", "acct-a", "2026-07-01");
  const mf = new Miniflare({
    workers: [
      {
        name: "stack",
        modules: true,
        compatibilityDate: "2026-07-01",
        script: `export default { fetch: (request, env) => env.${OTLP_BINDING}.fetch("http://otlp-relay/v1/traces", { method: "POST", body: '[{"name":"x"}]' }) };`,
        serviceBindings: { [OTLP_BINDING]: relayWorker.name },
      },
      relayWorker,
    ],
  });
  try {
    assert.equal((await mf.dispatchFetch("http://stack/")).status, 200);
  } finally {
    await mf.dispose();
    await otlp.close();
  }
  const [sent] = otlp.received;
  assert.equal(sent.path, "/v1/traces");
  assert.equal(sent.headers["x-otlp-api-key"], "k=1");
  assert.deepEqual(sent.body.resourceSpans.map((r) => r.resource), [stackResource("a", "acct-a")]);
  assert.deepEqual(sent.body.resourceSpans[0].scopeSpans[0].spans, [{ name: "x" }]);
});

test("an endpoint that is down costs a request nothing: an isolate's exports give up at once and drop what they carried; the host says so once, and again when they succeed", async () => {
  const port = await closedPort();
  const said = [];
  const telemetry = new Telemetry({ endpoint: `http://127.0.0.1:${port}`, say: (line) => said.push(line) });
  const reports = [];
  const report = (status) => {
    reports.push(status);
    telemetry.recordLine("acct-a", "a", JSON.stringify(status));
  };
  const exports = [new IsolateExport(relayBinding(`http://127.0.0.1:${port}`), report),
    new IsolateExport(relayBinding(`http://127.0.0.1:${port}`, "b", "acct-b"), (status) => telemetry.recordLine("acct-b", "b", JSON.stringify(status)))];
  const started = performance.now();
  for (let i = 0; i < 3; i++) for (const exporter of exports) await exporter.send([RECORD, RECORD]);
  assert.ok(performance.now() - started < 2000, "six refused exports took under the timeout");
  assert.equal(reports.length, 1, "an isolate reports the failure once");
  assert.equal(said.length, 1, said.join("\n"));
  assert.match(said[0], /telemetry: export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed \(.+\); dropping telemetry until it answers — requests are not affected/);

  const otlp = http.createServer((request, response) => request.resume().on("end", () => response.end("{}")));
  await new Promise((resolve) => otlp.listen(port, "127.0.0.1", resolve));
  try {
    await exports[0].send([RECORD]);
    assert.deepEqual(reports.at(-1), { export: "succeeded", dropped: 6 });
    assert.equal(said.length, 1, "another stack still fails: not yet said");
    await exports[1].send([RECORD]);
  } finally {
    await new Promise((resolve) => otlp.close(resolve));
  }
  assert.equal(said.length, 2, said.join("\n"));
  assert.match(said[1], /telemetry: exports to http:\/\/127\.0\.0\.1:\d+ succeed again \(12 invocations' telemetry was dropped meanwhile\)/);
});

test("records that come while an export is under way all go, in the same turn, which each caller's promise holds", async () => {
  const bodies = [];
  let release;
  const binding = {
    fetch: async (url, init) => {
      bodies.push(JSON.parse(init.body).map((item) => item.name));
      if (bodies.length === 1) await new Promise((resolve) => (release = resolve));
      return new Response("{}");
    },
  };
  const reports = [];
  const exporter = new IsolateExport(binding, (status) => reports.push(status));
  const record = (name) => ({ summary: "{}", spans: JSON.stringify({ name }), logs: "" });
  const first = exporter.send([record("a")]);
  const later = [exporter.send([record("b"), record("c")]), exporter.send([record("d")])];
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(bodies, [["a"]], "one export at a time");
  release();
  await Promise.all([first, ...later]);
  assert.deepEqual(bodies, [["a"], ["b", "c", "d"]]);
  assert.deepEqual(reports, [{ export: "succeeded", dropped: 0 }], "the first success said once");
  await exporter.send([record("e")]);
  assert.deepEqual(bodies.at(-1), ["e"], "a send after the turn ended starts another");
});

test("a stopped stack's failing exports no longer count: the next failure is said again", async () => {
  const said = [];
  const telemetry = new Telemetry({ endpoint: "http://127.0.0.1:1", say: (line) => said.push(line) });
  telemetry.recordLine("acct-a", "a", JSON.stringify({ export: "failed", signal: "traces", reason: "ECONNREFUSED" }));
  telemetry.stopped("acct-a");
  telemetry.recordLine("acct-b", "b", JSON.stringify({ export: "failed", signal: "logs", reason: "ECONNREFUSED" }));
  assert.equal(said.length, 2, said.join("\n"));
  assert.match(said[1], /export to http:\/\/127\.0\.0\.1:1\/v1\/logs failed/);
});

test("an endpoint that never answers is given up after the export timeout; a batch meanwhile waits its turn, and no request waits for either", async () => {
  const sockets = [];
  const silent = http.createServer(() => {});
  silent.on("connection", (socket) => sockets.push(socket));
  await new Promise((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${silent.address().port}`;
  const reports = [];
  const pending = [];
  const worker = tracedWorker({ fetch: async () => new Response("ok") }, TAGS, (line) => reports.push(line), { maxRecords: 1 });
  const env = { [OTLP_BINDING]: relayBinding(url) };
  try {
    const started = performance.now();
    await worker.fetch(new Request("https://a/one"), env, { waitUntil: (promise) => pending.push(promise) });
    await worker.fetch(new Request("https://a/two"), env, { waitUntil: (promise) => pending.push(promise) });
    const answered = performance.now() - started;
    assert.ok(answered < 500, `the requests answered in ${answered} ms`);
    await Promise.all(pending);
    const took = performance.now() - started;
    assert.ok(took >= 3800 && took < 7000, `both exports, one after the other, were given up after ${took} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
  const status = JSON.parse(reports.at(-1).slice(TAGS.marker.length));
  assert.deepEqual([status.export, status.signal], ["failed", "traces"]);
  assert.match(status.reason, /TimeoutError|timeout|aborted/i);
});

test("OTEL_EXPORTER_OTLP_HEADERS and /proc are read as OpenTelemetry SDKs and Linux write them", () => {
  assert.deepEqual(parseHeaders("a=1, b = two%20words ,broken,=x"), { a: "1", b: "two words" });
  assert.equal(Telemetry.fromEnvironment({}), undefined);
  const telemetry = Telemetry.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:18890/", OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-api-key=k%3D1" });
  assert.deepEqual(telemetry.endpointService(), { external: { address: "127.0.0.1:18890", http: { injectRequestHeaders: [{ name: "x-otlp-api-key", value: "k=1" }] } } });
  assert.equal(Telemetry.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_SDK_DISABLED: "true" }), undefined);
  assert.equal(cpuMsOf(undefined), undefined);
  assert.equal(cpuMsOf(2 ** 22 + 1), undefined);
});
