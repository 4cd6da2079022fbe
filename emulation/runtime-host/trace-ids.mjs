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

/**
 * New ids for this isolate: random once (crypto), then a counter. Ids must be unique, not secret, and
 * drawing random bytes for every span cost a traced Worker several percent of its CPU.
 */
export class IdSource {
  #prefix;
  #count = 0;

  constructor(random = (bytes) => crypto.getRandomValues(new Uint8Array(bytes))) {
    this.#prefix = hex(random(12));
  }

  /** A trace id (32 hex digits). */
  traceId() {
    return this.#prefix + this.#next();
  }

  /** A span id (16 hex digits). */
  spanId() {
    return this.#prefix.slice(0, 8) + this.#next();
  }

  #next() {
    this.#count = (this.#count + 1) % 0x100000000;
    return this.#count.toString(16).padStart(8, "0");
  }
}

function hex(buffer) {
  let text = "";
  for (const byte of buffer) text += byte.toString(16).padStart(2, "0");
  return text;
}
