// OTLP's JSON encoding (OTLP/HTTP JSON, as the Aspire dashboard reads it), for what the harness
// exports: a stack Worker's spans and log records, encoded by the isolate that recorded them
// (trace-context.js) and put under the stack's resource by its relay (otlp-relay.js), and the runtime
// host's metrics of each stack (telemetry.mjs).

/** The service binding through which a traced stack's isolate exports: the emulator's relay (otlp-relay.js). */
export const OTLP_BINDING = "__EMULATOR_OTLP";
/** How long an export may take before it is given up and what it carried dropped. */
export const EXPORT_TIMEOUT_MS = 2000;
/** The most one export to a stack's relay may carry: far above a full batch, so that code in the tenant's isolate cannot make the relay hold any amount. */
export const MAX_EXPORT_BYTES = 16 * 1024 * 1024;
/** The instrumentation scope of everything the harness records for a stack. */
export const SCOPE = { name: "cloudflare-emulator.runtime-host" };

/** A stack's OTLP resource: its dashboard row's name as the service, its script name beside it. */
export function stackResource(resource, stack) {
  return { attributes: attributes({ "service.name": resource ?? stack, "service.namespace": "cloudflare", "cloudflare.script_name": stack }) };
}

const SEVERITY = { debug: 5, info: 9, log: 9, warn: 13, error: 17 };

/**
 * A span: { traceId, spanId, parentSpanId?, name, kind, start, end (ms), attributes, error, message? };
 * `tags` (OTLP attributes, the same for all a record's items) go after its own attributes.
 */
export function otlpSpan(span, tags = NONE) {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: nanos(span.start),
    endTimeUnixNano: nanos(span.end ?? span.start),
    attributes: attributes(span.attributes, tags),
    status: span.error ? { code: 2, ...(span.message ? { message: span.message } : {}) } : { code: 0 },
  };
}

/** A log record: { time (ms), level, message, traceId, spanId, exception? }, with `tags` as otlpSpan's. */
export function otlpLog(log, tags = NONE) {
  const extra = log.exception ? { "exception.type": log.exception.type, "exception.message": log.exception.message, "exception.stacktrace": log.exception.stacktrace } : undefined;
  return {
    timeUnixNano: nanos(log.time),
    observedTimeUnixNano: nanos(log.time),
    severityNumber: SEVERITY[log.level] ?? 9,
    severityText: (log.level ?? "info").toUpperCase(),
    body: { stringValue: log.message },
    attributes: attributes(extra, tags),
    traceId: log.traceId,
    spanId: log.spanId,
  };
}

const NONE = Object.freeze([]);

/**
 * Attributes as OTLP key-values, then `more` (OTLP key-values already, a record's tags), which win: a
 * key of `values` that `more` holds is left out, as are undefined and null values.
 */
export function attributes(values = {}, more = NONE) {
  const list = [];
  for (const key in values) {
    const value = values[key];
    if (value === undefined || value === null || more.some((item) => item.key === key)) continue;
    list.push({ key, value: anyValue(value) });
  }
  for (const item of more) list.push(item);
  return list;
}

function anyValue(value) {
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  return { stringValue: String(value) };
}

/** Milliseconds since the epoch as OTLP's nanoseconds (a decimal string: beyond JSON's safe integers). */
export function nanos(ms) {
  const whole = Math.floor(ms);
  const micros = Math.round((ms - whole) * 1000);
  return micros === 0 ? `${whole}000000` : `${whole}${String(micros).padStart(3, "0")}000`;
}

/**
 * A finished invocation ({ spans, logs, summary, tags }, tags as OTLP attributes) encoded once: the
 * summary (for the host's metrics) as JSON, and its spans and log records, each with the tags, as OTLP
 * JSON, comma-separated without brackets (each "" when none), ready to be joined into an export
 * (exportBody).
 */
export function encodeRecord({ spans, logs, summary, tags = NONE }) {
  return {
    summary: JSON.stringify(summary),
    spans: JSON.stringify(spans.map((span) => otlpSpan(span, tags))).slice(1, -1),
    logs: logs.length === 0 ? "" : JSON.stringify(logs.map((log) => otlpLog(log, tags))).slice(1, -1),
  };
}

/** One OTLP/HTTP JSON export of a resource's spans ("traces") or log records ("logs"), from encodeRecord's pieces. */
export function exportBody(signal, resourceJson, pieces) {
  const [outer, inner, key] = signal === "traces" ? ["resourceSpans", "scopeSpans", "spans"] : ["resourceLogs", "scopeLogs", "logRecords"];
  return `{"${outer}":[{"resource":${resourceJson},"${inner}":[{"scope":${SCOPE_JSON},"${key}":[${pieces.join(",")}]}]}]}`;
}
const SCOPE_JSON = JSON.stringify(SCOPE);

/**
 * An encoded record (encodeRecord) as the one line a stack Worker writes when it has no exporter (the
 * node tests read these): its summary, spans and log records, tab-separated (JSON text holds no raw tab).
 */
export function recordLine({ summary, spans, logs }) {
  return `${summary}\t[${spans}]\t[${logs}]`;
}

/** A record line read back: the summary, and the spans and log records as JSON text (each "" when none). */
export function readRecordLine(line) {
  const [summary, spans = "[]", logs = "[]"] = line.split("\t");
  return { summary: JSON.parse(summary), spans: spans.slice(1, -1), logs: logs.slice(1, -1) };
}
