// The streaming tail Worker of a stack (ADR 0036): workerd hands it every invocation of the stack's
// Worker as it happens — the trigger, each span (fetch, D1, R2, KV, user spans), console output,
// exceptions and the outcome — as it would hand them to Workers observability in production. It turns
// each finished invocation into spans, log records and a summary for metrics, and sends them in
// batches to the runtime host (telemetry.mjs), which exports them to the dashboard. It runs in the
// stack's own workerd, so a busy tenant pays for its own telemetry.
//
// It never copies request headers, bodies or query strings: a span carries the method, the URL's path and
// what workerd's instrumentation records (SQL text without bound values, keys, sizes, status codes).
import { incomingParent, incomingTraceId } from "./trace-ids.mjs";

/** How long finished invocations wait to share a batch. */
const FLUSH_MS = 200;
/** A batch this large goes at once. */
const FLUSH_INVOCATIONS = 200;

/** Invocations the harness makes of its own, which are not the tenant's traffic. */
function ignored(info) {
  if (info?.type !== "fetch") return false;
  const { pathname } = new URL(info.url);
  return pathname === "/healthz";
}

let pending = [];
let flushing = undefined;

export default {
  tailStream(onset, env, ctx) {
    // The emulator's control entrypoint (migrations, the SQL console) is not the tenant's traffic.
    if (onset.event.entrypoint || ignored(onset.event.info)) return () => {};
    const invocation = new Invocation(onset, { stack: env.STACK, tenant: env.TENANT || undefined });
    return (event) => {
      invocation.add(event);
      if (event.event.type !== "outcome") return;
      pending.push(invocation.finish());
      if (pending.length >= FLUSH_INVOCATIONS) ctx.waitUntil(flush(env));
      else flushing ??= new Promise((resolve) => setTimeout(resolve, FLUSH_MS)).then(() => flush(env));
      ctx.waitUntil(flushing);
    };
  },
};

async function flush(env) {
  flushing = undefined;
  if (pending.length === 0) return;
  const invocations = pending;
  pending = [];
  try {
    const answer = await env.SINK.fetch("http://telemetry/invocations", { method: "POST", body: JSON.stringify({ stack: env.STACK, resource: env.RESOURCE, invocations }) });
    await answer.body?.cancel();
  } catch {
    // The host is gone or busy: telemetry is dropped, never the request.
  }
}

const SPAN_KIND = { internal: 1, server: 2, client: 3 };

/** One invocation's events, gathered until its outcome. */
export class Invocation {
  #spans = new Map();
  #logs = [];
  #status = undefined;

  constructor(onset, { stack, tenant }) {
    this.stack = stack;
    this.tenant = tenant;
    const info = onset.event.info ?? {};
    const headers = new Map((info.headers ?? []).map(({ name, value }) => [name.toLowerCase(), value]));
    const traceparent = headers.get("traceparent");
    this.workerdTraceId = onset.spanContext.traceId;
    this.incomingTraceId = incomingTraceId(traceparent);
    this.parentSpanId = this.incomingTraceId ? incomingParent(traceparent) : undefined;
    this.rootId = onset.event.spanId;
    this.start = time(onset.timestamp);
    const url = info.url ? new URL(info.url) : undefined;
    const name = info.type === "fetch" ? `${info.method} ${url.pathname}` : info.type ?? "invocation";
    const attributes = info.type === "fetch"
      ? { "faas.trigger": "http", "http.request.method": info.method, "url.path": url.pathname, "server.address": url.hostname }
      : { "faas.trigger": info.type ?? "other" };
    this.#spans.set(this.rootId, { id: this.rootId, parent: undefined, name, kind: SPAN_KIND.server, start: this.start, end: undefined, attributes, error: false });
  }

  add({ event, spanContext, timestamp }) {
    const at = time(timestamp);
    switch (event.type) {
      case "spanOpen":
        this.#spans.set(event.spanId, { id: event.spanId, parent: spanContext.spanId, name: event.name, kind: kindOf(event.name), start: at, end: undefined, attributes: {}, error: false });
        break;
      case "attributes": {
        const span = this.#spans.get(spanContext.spanId);
        if (span) for (const { name, value } of event.info) span.attributes[name] = plain(value);
        break;
      }
      case "spanClose": {
        const span = this.#spans.get(spanContext.spanId);
        if (span) {
          span.end = at;
          if (event.outcome !== "ok") span.error = true;
        }
        break;
      }
      case "return":
        if (event.info?.type === "fetch") this.#status = event.info.statusCode;
        break;
      case "log":
        this.#logs.push({ time: at, level: event.level === "log" ? "info" : event.level, message: format(event.message), spanId: spanContext.spanId });
        break;
      case "exception": {
        const span = this.#spans.get(spanContext.spanId);
        if (span) span.error = true;
        this.#logs.push({ time: at, level: "error", message: `${event.name}: ${event.message}`, spanId: spanContext.spanId, exception: { type: event.name, message: event.message, stacktrace: event.stack } });
        break;
      }
      case "outcome":
        this.end = at;
        this.outcome = event.outcome;
        break;
    }
  }

  /** The invocation as spans, log records and a summary, with the trace ids the rest of the trace uses. */
  finish() {
    const root = this.#spans.get(this.rootId);
    root.end = this.end;
    if (this.#status !== undefined) root.attributes["http.response.status_code"] = this.#status;
    root.attributes["cloudflare.outcome"] = this.outcome;
    root.error = this.outcome !== "ok" || (this.#status ?? 0) >= 500;

    const traceId = this.incomingTraceId ?? this.#announcedTraceId() ?? this.workerdTraceId;
    const ids = new Map();
    const dropped = new Set();
    for (const span of this.#spans.values()) {
      if (span.attributes["emulator.span_id"]) ids.set(span.id, span.attributes["emulator.span_id"]);
      if (span.attributes["emulator.error"]) {
        span.error = true;
        span.message = span.attributes["emulator.error"];
      }
      // The emulated D1 (d1-replication.js) opens one span per call of the Worker, as production's D1
      // does; what it runs inside (the real database, its replication log) is the emulator's own.
      if (span.attributes["emulator.binding"]) for (const inner of this.#descendants(span.id)) dropped.add(inner.id);
      // An outbound fetch: the span the callee knows as its parent takes workerd's fetch span's details.
      if (span.attributes["emulator.span_id"]) {
        for (const child of this.#children(span.id)) {
          if (child.name !== "fetch") continue;
          Object.assign(span.attributes, child.attributes);
          span.error ||= child.error;
          dropped.add(child.id);
        }
      }
    }
    const tags = { "cloudflare.script_name": this.stack, ...(this.tenant ? { "tenant.id": this.tenant } : {}) };
    const spans = [];
    let d1Queries = 0, d1RowsRead = 0, d1RowsWritten = 0, r2Operations = 0, kvOperations = 0;
    for (const span of this.#spans.values()) {
      if (dropped.has(span.id)) continue;
      let parent = span.parent;
      while (parent !== undefined && dropped.has(parent)) parent = this.#spans.get(parent)?.parent;
      const attributes = { ...span.attributes, ...tags };
      for (const key of Object.keys(attributes)) if (key.startsWith("emulator.")) delete attributes[key];
      // A query string may carry what a user typed (a search): the URL goes without it, as the root's path does.
      if (typeof attributes["url.full"] === "string") attributes["url.full"] = withoutQuery(attributes["url.full"]);
      if (span.name.startsWith("d1_")) {
        d1Queries += 1;
        d1RowsRead += Number(attributes["cloudflare.d1.response.rows_read"] ?? 0);
        d1RowsWritten += Number(attributes["cloudflare.d1.response.rows_written"] ?? 0);
      } else if (span.name.startsWith("r2_")) r2Operations += 1;
      else if (span.name.startsWith("kv_")) kvOperations += 1;
      spans.push({
        traceId,
        spanId: ids.get(span.id) ?? span.id,
        parentSpanId: span.id === this.rootId ? this.parentSpanId : ids.get(parent) ?? parent,
        name: span.name,
        kind: span.kind,
        start: span.start,
        end: span.end ?? this.end,
        attributes,
        error: span.error,
        ...(span.message ? { message: span.message } : {}),
      });
    }
    const logs = this.#logs.map((log) => {
      let spanId = log.spanId;
      while (spanId !== undefined && dropped.has(spanId)) spanId = this.#spans.get(spanId)?.parent;
      return { ...log, traceId, spanId: ids.get(spanId) ?? spanId ?? this.rootId, attributes: tags };
    });
    const summary = {
      durationMs: Math.max(0, this.end - this.start),
      status: this.#status ?? 0,
      error: root.error,
      d1Queries,
      d1RowsRead,
      d1RowsWritten,
      r2Operations,
      kvOperations,
    };
    return { spans, logs, summary };
  }

  #announcedTraceId() {
    for (const span of this.#spans.values()) if (span.attributes["emulator.trace_id"]) return span.attributes["emulator.trace_id"];
    return undefined;
  }

  #children(id) {
    return [...this.#spans.values()].filter((span) => span.parent === id);
  }

  #descendants(id) {
    const found = [];
    for (let frontier = [id]; frontier.length > 0; ) {
      const children = frontier.flatMap((parent) => this.#children(parent));
      found.push(...children);
      frontier = children.map((child) => child.id);
    }
    return found;
  }
}

function withoutQuery(url) {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.split("?")[0];
  }
}

function kindOf(name) {
  return name === "fetch" || /^(d1|r2|kv)_/.test(name) ? SPAN_KIND.client : SPAN_KIND.internal;
}

function time(timestamp) {
  return typeof timestamp === "number" ? timestamp : new Date(timestamp).getTime();
}

/** An attribute value as JSON can carry it (workerd gives large integers as BigInt). */
function plain(value) {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** console.* arguments as one line, as the console prints them. */
function format(message) {
  const parts = Array.isArray(message) ? message : [message];
  return parts
    .map((part) => {
      if (typeof part === "string") return part;
      try {
        return JSON.stringify(part, (_, value) => (typeof value === "bigint" ? Number(value) : value));
      } catch {
        return String(part);
      }
    })
    .join(" ");
}
