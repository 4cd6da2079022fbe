// Telemetry (ADR 0036): a stack's tail Worker turning workerd's streamed events into spans and logs
// (telemetry-tail.js, plain JavaScript here; on workerd in TelemetryTests), and the runtime host's
// exporter (telemetry.mjs) sending them as OTLP JSON — to a receiver in this test, and to one that is down.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Invocation } from "../telemetry-tail.js";
import { Telemetry, cpuMsOf, parseHeaders } from "../telemetry.mjs";
import { incomingParent, incomingTraceId, traceparent } from "../trace-ids.mjs";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER = "b7ad6b7169203331";
const at = (ms) => new Date(Date.UTC(2026, 11, 1, 10, 0, 0, ms));

function onset(headers = []) {
  return {
    spanContext: { traceId: "workerd0000000000000000000000000" },
    timestamp: at(0),
    event: { type: "onset", spanId: "root000000000000", info: { type: "fetch", method: "GET", url: "https://acct-a.emulator.workers.dev/clients?q=secret", headers } },
  };
}
const event = (spanId, ms, body) => ({ spanContext: { traceId: "workerd0000000000000000000000000", spanId }, timestamp: at(ms), event: body });
const attributes = (spanId, ms, values) => event(spanId, ms, { type: "attributes", info: Object.entries(values).map(([name, value]) => ({ name, value })) });

/** An invocation that queries D1 (through the emulated D1, with the real call inside) and calls another Worker. */
function busyInvocation(headers) {
  const invocation = new Invocation(onset(headers), { stack: "acct-a", tenant: "tenant-a" });
  invocation.add(event("root000000000000", 1, { type: "spanOpen", name: "d1_all", spanId: "d1wrapper0000000" }));
  invocation.add(attributes("d1wrapper0000000", 1, { "emulator.binding": "d1", "db.query.text": "SELECT * FROM clients WHERE id = ?", "cloudflare.d1.response.rows_read": 3n, "cloudflare.d1.response.served_by_primary": false }));
  invocation.add(event("d1wrapper0000000", 2, { type: "spanOpen", name: "d1_batch", spanId: "d1inner000000000" }));
  invocation.add(attributes("d1inner000000000", 3, { "db.query.text": "INSERT INTO _emulator_d1_log (committed_at, statements) VALUES (?, ?)" }));
  invocation.add(event("d1inner000000000", 4, { type: "spanOpen", name: "fetch", spanId: "d1fetch000000000" }));
  invocation.add(event("d1fetch000000000", 5, { type: "spanClose", outcome: "ok" }));
  invocation.add(event("d1inner000000000", 6, { type: "spanClose", outcome: "ok" }));
  invocation.add(attributes("d1wrapper0000000", 7, { "emulator.error": "D1_ERROR: D1 DB is overloaded." }));
  invocation.add(event("d1wrapper0000000", 7, { type: "spanClose", outcome: "ok" }));
  invocation.add(event("root000000000000", 8, { type: "log", level: "error", message: ["database unavailable", { code: 7500 }] }));
  invocation.add(event("root000000000000", 9, { type: "spanOpen", name: "fetch", spanId: "hopwrapper000000" }));
  invocation.add(attributes("hopwrapper000000", 9, { "emulator.trace_id": "announced0000000000000000000000a", "emulator.span_id": "1111222233334444" }));
  invocation.add(event("hopwrapper000000", 10, { type: "spanOpen", name: "fetch", spanId: "workerdfetch0000" }));
  invocation.add(attributes("workerdfetch0000", 20, { "url.full": "https://acct-b.emulator.workers.dev/x?q=secret", "http.response.status_code": 200 }));
  invocation.add(event("workerdfetch0000", 20, { type: "spanClose", outcome: "ok" }));
  invocation.add(event("hopwrapper000000", 21, { type: "spanClose", outcome: "ok" }));
  invocation.add(event("root000000000000", 22, { type: "spanOpen", name: "kv_get", spanId: "kv00000000000000" }));
  invocation.add(event("kv00000000000000", 23, { type: "spanClose", outcome: "ok" }));
  invocation.add(event("root000000000000", 24, { type: "return", info: { type: "fetch", statusCode: 200 } }));
  invocation.add(event("root000000000000", 25, { type: "outcome", outcome: "ok", cpuTime: 0, wallTime: 0 }));
  return invocation.finish();
}

test("an invocation with a traceparent continues its trace; the emulator's own spans are left out and the hop's span takes the id the callee sees", () => {
  const { spans, logs, summary } = busyInvocation([{ name: "traceparent", value: traceparent(TRACE, CALLER) }, { name: "authorization", value: "Bearer token-of-a" }]);
  assert.deepEqual(spans.map((s) => s.name), ["GET /clients", "d1_all", "fetch", "kv_get"]);
  assert.ok(spans.every((s) => s.traceId === TRACE), "every span is in the caller's trace");
  const [root, d1, hop, kv] = spans;
  assert.equal(root.parentSpanId, CALLER);
  assert.equal(root.kind, 2);
  assert.equal(root.attributes["http.response.status_code"], 200);
  assert.equal(root.attributes["url.path"], "/clients");
  assert.equal(d1.parentSpanId, root.spanId);
  assert.equal(d1.attributes["db.query.text"], "SELECT * FROM clients WHERE id = ?");
  assert.equal(d1.attributes["cloudflare.d1.response.rows_read"], 3);
  assert.deepEqual([d1.error, d1.message], [true, "D1_ERROR: D1 DB is overloaded."], "the emulated D1's failure marks its span");
  assert.equal(hop.spanId, "1111222233334444");
  assert.equal(hop.attributes["url.full"], "https://acct-b.emulator.workers.dev/x");
  assert.equal(kv.parentSpanId, root.spanId);
  for (const span of spans) {
    assert.equal(span.attributes["cloudflare.script_name"], "acct-a");
    assert.equal(span.attributes["tenant.id"], "tenant-a");
    assert.ok(Object.keys(span.attributes).every((key) => !key.startsWith("emulator.")), `${span.name}: no emulator attribute`);
  }
  // Neither the query string nor a header travels.
  assert.ok(!JSON.stringify(spans).includes("secret") && !JSON.stringify(spans).includes("token-of-a"));
  assert.deepEqual(logs.map((l) => [l.level, l.message, l.traceId, l.spanId]), [["error", 'database unavailable {"code":7500}', TRACE, root.spanId]]);
  assert.deepEqual(summary, { durationMs: 25, status: 200, error: false, d1Queries: 1, d1RowsRead: 3, d1RowsWritten: 0, r2Operations: 0, kvOperations: 1 });
});

test("without a traceparent, the trace id its outbound calls announced is the invocation's; an invalid one is ignored", () => {
  const announced = busyInvocation([{ name: "traceparent", value: "00-00000000000000000000000000000000-b7ad6b7169203331-01" }]);
  assert.ok(announced.spans.every((s) => s.traceId === "announced0000000000000000000000a"));
  assert.equal(announced.spans[0].parentSpanId, undefined);
  const quiet = new Invocation(onset(), { stack: "acct-a" });
  quiet.add(event("root000000000000", 1, { type: "exception", name: "TypeError", message: "x is undefined", stack: "at handler" }));
  quiet.add(event("root000000000000", 2, { type: "outcome", outcome: "exception" }));
  const { spans, logs, summary } = quiet.finish();
  assert.equal(spans[0].traceId, "workerd0000000000000000000000000");
  assert.equal(spans[0].error, true);
  assert.equal(summary.error, true);
  assert.equal(logs[0].exception.type, "TypeError");
  assert.equal(spans[0].attributes["tenant.id"], undefined);
});

test("traceparent: read only when well formed", () => {
  assert.equal(incomingTraceId(traceparent(TRACE, CALLER)), TRACE);
  assert.equal(incomingParent(traceparent(TRACE, CALLER)), CALLER);
  for (const bad of [undefined, "", "01-" + TRACE + "-" + CALLER + "-01", `00-${TRACE.toUpperCase()}-${CALLER}-01`, `00-${TRACE}-0000000000000000-01`, `00-${TRACE}-${CALLER}`]) {
    assert.equal(incomingTraceId(bad), undefined, String(bad));
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

test("the exporter sends each stack's spans, logs and metrics as OTLP JSON under the stack's row, with the configured headers", async () => {
  const otlp = await receiver();
  const telemetry = Telemetry.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url + "/", OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-api-key=k%3D1" }, { processOf: () => process.pid });
  const invocation = busyInvocation([{ name: "traceparent", value: traceparent(TRACE, CALLER) }]);
  telemetry.record("acct-a", [invocation, invocation], "a");
  await telemetry.flushSpans();
  await telemetry.flushMetrics();
  await telemetry.close();
  await otlp.close();
  const byPath = Object.fromEntries(otlp.received.map((r) => [r.path, r]));
  assert.deepEqual(Object.keys(byPath).sort(), ["/v1/logs", "/v1/metrics", "/v1/traces"]);
  assert.equal(byPath["/v1/traces"].headers["x-otlp-api-key"], "k=1");
  const [resourceSpans] = byPath["/v1/traces"].body.resourceSpans;
  const service = (resource) => Object.fromEntries(resource.attributes.map((a) => [a.key, a.value.stringValue]));
  assert.deepEqual(service(resourceSpans.resource), { "service.name": "a", "service.namespace": "cloudflare", "cloudflare.script_name": "acct-a" });
  const spans = resourceSpans.scopeSpans[0].spans;
  assert.equal(spans.length, 8);
  assert.equal(spans[0].traceId, TRACE);
  assert.equal(spans[0].parentSpanId, CALLER);
  assert.equal(BigInt(spans[0].endTimeUnixNano) - BigInt(spans[0].startTimeUnixNano), 25_000_000n);
  assert.deepEqual(spans[1].attributes.find((a) => a.key === "cloudflare.d1.response.rows_read").value, { intValue: "3" });
  const log = byPath["/v1/logs"].body.resourceLogs[0].scopeLogs[0].logRecords[0];
  assert.deepEqual([log.severityText, log.severityNumber, log.traceId, log.body.stringValue], ["ERROR", 17, TRACE, 'database unavailable {"code":7500}']);
  const metrics = Object.fromEntries(byPath["/v1/metrics"].body.resourceMetrics[0].scopeMetrics[0].metrics.map((m) => [m.name, m]));
  assert.equal(metrics["cloudflare.worker.requests"].sum.dataPoints[0].asInt, "2");
  assert.equal(metrics["cloudflare.d1.rows_read"].sum.dataPoints[0].asInt, "6");
  assert.equal(metrics["cloudflare.kv.operations"].sum.dataPoints[0].asInt, "2");
  const latency = metrics["cloudflare.worker.duration"].histogram.dataPoints[0];
  assert.equal(latency.count, "2");
  assert.equal(latency.bucketCounts[latency.explicitBounds.indexOf(25)], "2");
  assert.ok(Number(metrics["cloudflare.worker.cpu_time"].sum.dataPoints[0].asInt) > 0, "this process's CPU time, read from /proc");
});

test("an endpoint that is down costs a request nothing: exports give up within their timeout, drop what they carried, and say so once", async () => {
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const said = [];
  const telemetry = new Telemetry({ endpoint: `http://127.0.0.1:${port}`, say: (line) => said.push(line) });
  const invocation = busyInvocation([]);
  const started = performance.now();
  for (let i = 0; i < 3; i++) {
    telemetry.record("acct-a", [invocation]);
    await telemetry.flushSpans();
  }
  assert.ok(performance.now() - started < 3000, "three failed exports took under the timeout");
  assert.equal(said.length, 1, said.join("\n"));
  assert.match(said[0], /telemetry: export to http:\/\/127\.0\.0\.1:\d+\/v1\/traces failed \(ECONNREFUSED\); dropping telemetry until it answers/);
});

test("OTEL_EXPORTER_OTLP_HEADERS and /proc are read as OpenTelemetry SDKs and Linux write them", () => {
  assert.deepEqual(parseHeaders("a=1, b = two%20words ,broken,=x"), { a: "1", b: "two words" });
  assert.equal(Telemetry.fromEnvironment({}), undefined);
  assert.equal(Telemetry.fromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_SDK_DISABLED: "true" }), undefined);
  assert.equal(cpuMsOf(undefined), undefined);
  assert.equal(cpuMsOf(2 ** 22 + 1), undefined);
});
