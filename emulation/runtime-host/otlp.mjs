// OTLP's JSON encoding (OTLP/HTTP JSON, as the Aspire dashboard reads it), for what the harness
// exports: a stack Worker's spans and log records, encoded where they are recorded (trace-context.js)
// so the runtime host only joins them (telemetry.mjs), and the host's own metrics.

const SEVERITY = { debug: 5, info: 9, log: 9, warn: 13, error: 17 };

/** A span: { traceId, spanId, parentSpanId?, name, kind, start, end (ms), attributes, error, message? }. */
export function otlpSpan(span) {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: nanos(span.start),
    endTimeUnixNano: nanos(span.end ?? span.start),
    attributes: attributes(span.attributes),
    status: span.error ? { code: 2, ...(span.message ? { message: span.message } : {}) } : { code: 0 },
  };
}

/** A log record: { time (ms), level, message, traceId, spanId, attributes, exception? }. */
export function otlpLog(log) {
  const extra = log.exception ? { "exception.type": log.exception.type, "exception.message": log.exception.message, "exception.stacktrace": log.exception.stacktrace } : {};
  return {
    timeUnixNano: nanos(log.time),
    observedTimeUnixNano: nanos(log.time),
    severityNumber: SEVERITY[log.level] ?? 9,
    severityText: (log.level ?? "info").toUpperCase(),
    body: { stringValue: log.message },
    attributes: attributes({ ...log.attributes, ...extra }),
    traceId: log.traceId,
    spanId: log.spanId,
  };
}

/** Attributes as OTLP key-values; undefined and null values are left out. */
export function attributes(values = {}) {
  const list = [];
  for (const key in values) {
    const value = values[key];
    if (value === undefined || value === null) continue;
    list.push({ key, value: anyValue(value) });
  }
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
 * A finished invocation ({ spans, logs, summary }) as the one line a stack Worker writes: the summary
 * (for the host's metrics) as JSON, then its spans and its log records as OTLP JSON arrays, which the
 * host joins into an export without reading them. JSON text holds no raw tab.
 */
export function recordLine({ spans, logs, summary }) {
  return `${JSON.stringify(summary)}\t${JSON.stringify(spans.map(otlpSpan))}\t${JSON.stringify(logs.map(otlpLog))}`;
}

/** A record line read back: the summary, and the spans and log records as JSON text (each "" when none). */
export function readRecordLine(line) {
  const [summary, spans = "[]", logs = "[]"] = line.split("\t");
  return { summary: JSON.parse(summary), spans: spans.slice(1, -1), logs: logs.slice(1, -1) };
}
