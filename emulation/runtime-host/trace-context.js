// Trace context for a stack Worker's invocations, when the harness collects telemetry (ADR 0036).
// workerd traces every invocation and hands the spans to the stack's streaming tail Worker
// (telemetry-tail.js), but locally it neither continues an incoming `traceparent` nor sends one on a
// subrequest, and it gives JavaScript no way to read the current span's ids. So a request through the
// platform to an account Worker (or to the local Cloudflare API) would be several unrelated traces.
//
// This module, added to the entry module by stacks.mjs (the Worker's own code is unchanged), keeps each
// invocation's trace id in an AsyncLocalStorage (the `nodejs_als` flag): an incoming `traceparent`'s, or a
// new one. Every outbound fetch made during the invocation carries `traceparent` with that trace id and a
// new span id, inside a user span that names both ids, so the tail can give that span the id the callee
// sees as its parent. An invocation that never calls out keeps workerd's own trace id.
import { AsyncLocalStorage } from "node:async_hooks";
import { tracing } from "cloudflare:workers";
import { incomingTraceId, randomHex, traceparent } from "./trace-ids.mjs";

const invocations = new AsyncLocalStorage();
// For the emulated D1 (d1-replication.js), a wrapped binding, which cannot import cloudflare:workers.
globalThis[Symbol.for("cloudflare-emulator.tracing")] = tracing;

/** The Worker's default export with each fetch invocation run in its own trace context. */
export function tracedWorker(worker) {
  if (worker === null || typeof worker !== "object" || typeof worker.fetch !== "function") return worker;
  const handler = worker.fetch;
  const traced = Object.create(worker);
  traced.fetch = function (request, env, ctx) {
    const context = { traceId: incomingTraceId(request.headers.get("traceparent")) ?? randomHex(16) };
    return invocations.run(context, () => handler.call(worker, request, env, ctx));
  };
  return traced;
}

const untracedFetch = globalThis.fetch;

/** fetch() with the invocation's trace context passed on (W3C `traceparent`). */
function tracedFetch(input, init) {
  const context = invocations.getStore();
  if (context === undefined) return untracedFetch(input, init);
  const request = new Request(input, init);
  const spanId = randomHex(8);
  request.headers.set("traceparent", traceparent(context.traceId, spanId));
  return tracing.enterSpan("fetch", (span) => {
    span.setAttribute("emulator.trace_id", context.traceId);
    span.setAttribute("emulator.span_id", spanId);
    return untracedFetch(request);
  });
}

globalThis.fetch = tracedFetch;
