// W3C trace context (`traceparent`) as the harness reads and writes it (trace-context.js, in each stack
// Worker's isolate), and the ids it makes. One place for the format.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const INVALID_TRACE = "0".repeat(32);
const INVALID_SPAN = "0".repeat(16);

/** An incoming `traceparent`'s trace id and its caller's span id, or undefined when there is none or it is malformed. */
export function incomingContext(header) {
  const match = TRACEPARENT.exec(typeof header === "string" ? header.trim() : "");
  return match !== null && match[1] !== INVALID_TRACE && match[2] !== INVALID_SPAN ? { traceId: match[1], parentId: match[2] } : undefined;
}

/** A `traceparent` for a call made as span `spanId` of trace `traceId` (sampled). */
export function traceparent(traceId, spanId) {
  return `00-${traceId}-${spanId}-01`;
}

/**
 * New ids for this isolate: a random prefix (crypto, once), a counter (unique within the isolate) and
 * Math.random (not guessable from the last one). Drawing crypto-random bytes for every span cost a
 * traced Worker a measurable share of its CPU (ADR 0036).
 */
export class IdSource {
  #prefix;
  #count = 0;

  constructor(random = (bytes) => crypto.getRandomValues(new Uint8Array(bytes))) {
    this.#prefix = hex(random(12));
  }

  /** A trace id (32 hex digits). */
  traceId() {
    return this.#prefix.slice(0, 16) + noise() + this.#next();
  }

  /** A span id (16 hex digits). */
  spanId() {
    return noise() + this.#next();
  }

  #next() {
    this.#count = (this.#count + 1) % 0x100000000;
    return this.#count.toString(16).padStart(8, "0");
  }
}

/** 8 hex digits from Math.random: cheap, and enough that ids cannot be guessed from each other. */
function noise() {
  return Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
}

function hex(buffer) {
  let text = "";
  for (const byte of buffer) text += byte.toString(16).padStart(2, "0");
  return text;
}
