// W3C trace context (`traceparent`) as the harness reads and writes it: in each stack Worker's
// invocations (trace-context.js) and in its tail Worker (telemetry-tail.js). One place for the format.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const INVALID_TRACE = "0".repeat(32);
const INVALID_SPAN = "0".repeat(16);

function parse(header) {
  const match = TRACEPARENT.exec(typeof header === "string" ? header.trim() : "");
  return match && match[1] !== INVALID_TRACE && match[2] !== INVALID_SPAN ? { traceId: match[1], parentId: match[2] } : undefined;
}

/** The trace id of an incoming `traceparent`, or undefined when there is none or it is malformed. */
export function incomingTraceId(header) {
  return parse(header)?.traceId;
}

/** The caller's span id of an incoming `traceparent` (the parent of the span that serves it). */
export function incomingParent(header) {
  return parse(header)?.parentId;
}

/** A `traceparent` for a call made as span `spanId` of trace `traceId` (sampled). */
export function traceparent(traceId, spanId) {
  return `00-${traceId}-${spanId}-01`;
}

/** Random lowercase hex of `bytes` bytes: a trace id (16) or a span id (8). */
export function randomHex(bytes) {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let hex = "";
  for (const byte of buffer) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
