// The runtime host's protocol with the C# supervisor: one JSON object per line each way. This file
// is the Node side of the contract; its C# twin is Runtime/HostProtocol.cs, and
// ProtocolContractTests round-trips every operation between the two.
//
// A command is { id, op, ...request }; its reply is { id, ok: true, result } or { id, ok: false,
// error }. Requests are checked against `operations[op].request` before a handler sees them, and
// results against `.reply` before they leave, so a disagreement is an error naming the operation and
// field, never a stray `undefined`. Events ({ event, ... }) carry no id.
//
// Data operations (D1 queries, KV and R2 listings, replication settings) are not here: the
// supervisor sends them straight to the stack's control entrypoint (control-entrypoint.js), whose URL
// and secret the `control` event announces.

/** Bumped whenever an operation, request or reply changes shape; the supervisor refuses a host speaking another. */
export const PROTOCOL_VERSION = 5;

const OPTIONAL = Symbol("optional fields");
/** Marks fields of an object shape as optional (absent or null). */
function optional(shape, ...keys) {
  shape[OPTIONAL] = new Set([...(shape[OPTIONAL] ?? []), ...keys]);
}

// Shapes: "string" | "integer" | "boolean" | "any", a trailing "?" for optional (null allowed),
// [shape] for an array, { key: shape } for an object (other keys are refused), and
// { "*": shape } for a map.
const StackSpec = {
  name: "string",
  worker: "string",
  persistDir: "string",
  port: "integer",
  d1: { "*": "string" },
  r2: { "*": "string" },
  kv: { "*": "string" },
  vars: { "*": "string" },
  script: "string?",
  compatibilityDate: "string?",
  compatibilityFlags: ["string"],
  persist: { d1: "string?", r2: "string?", kv: "string?" },
  r2Credentials: { "*": { accessKeyId: "string", secretAccessKey: "string" } },
  resource: "string?",
};
optional(StackSpec, "compatibilityFlags", "persist", "r2Credentials", "resource");

const StackStarted = {
  name: "string",
  worker: "string",
  state: "string",
  url: "string",
  pid: "integer?",
  migrations: ["string"],
  readyMs: "integer",
  startMs: "integer",
};

const HopFaultRule = {
  service: "string",
  stack: "string",
  operation: "string",
  probability: "number",
  times: "integer?",
  message: "string?",
  latencyMs: "integer",
  jitterMs: "integer",
  from: "string?",
  until: "string?",
};
optional(HopFaultRule, "times", "message", "from", "until");

const EgressRecord = { at: "string", method: "string", destination: "string", allowed: "boolean", rule: "string" };

export const operations = {
  start: { request: { stack: StackSpec }, reply: StackStarted },
  redeploy: { request: { stack: StackSpec }, reply: StackStarted },
  stop: { request: { name: "string" }, reply: { name: "string", state: "string" } },
  bundle: {
    request: { worker: "string" },
    reply: { script: "string", compatibilityDate: "string", compatibilityFlags: ["string"] },
  },
  bindings: { request: { name: "string" }, reply: { bindings: ["string"] } },
  "egress-policy": {
    request: { policy: { allow: ["string"], cloudflareApi: "string?" } },
    reply: { allow: ["string"], cloudflareApi: "string?" },
  },
  egress: { request: { name: "string?" }, reply: { stacks: { "*": [EgressRecord] } } },
  "publish-release": { request: { name: "string", binding: "string", worker: "string" }, reply: { keys: ["string"] } },
  "add-replica-databases": { request: { name: "string" }, reply: { name: "string", replicaSlots: "integer" } },
  partition: { request: { name: "string", partitioned: "boolean" }, reply: { name: "string", partitioned: "boolean" } },
  "hop-faults": { request: { rules: [HopFaultRule] }, reply: { rules: "integer" } },
  "telemetry-recording": { request: { name: "string", recording: "boolean" }, reply: { name: "string", recording: "boolean" } },
};

/** Events the host sends unasked. */
export const events = {
  "host-ready": { pid: "integer", node: "string", protocol: "integer" },
  control: { name: "string", url: "string", secret: "string" },
};

/**
 * The first thing wrong with `value` against `shape`, as "<path>: <what>", or undefined when it
 * fits. Paths read like the JSON: `stack.d1.DB`, `policy.allow[2]`.
 */
export function mismatch(shape, value, path) {
  if (typeof shape === "string") {
    const optionalValue = shape.endsWith("?");
    const type = optionalValue ? shape.slice(0, -1) : shape;
    if (value === undefined || value === null) return optionalValue ? undefined : `${path}: is required (${type})`;
    if (type === "any") return undefined;
    if (type === "integer") return Number.isInteger(value) ? undefined : `${path}: must be an integer`;
    return typeof value === type ? undefined : `${path}: must be a ${type}`;
  }
  if (Array.isArray(shape)) {
    if (value === undefined || value === null) return `${path}: is required (an array)`;
    if (!Array.isArray(value)) return `${path}: must be an array`;
    for (let i = 0; i < value.length; i++) {
      const problem = mismatch(shape[0], value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value === undefined || value === null) return `${path}: is required (an object)`;
  if (typeof value !== "object" || Array.isArray(value)) return `${path}: must be an object`;
  if ("*" in shape) {
    for (const [key, item] of Object.entries(value)) {
      const problem = mismatch(shape["*"], item, `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!(key in shape)) return `${path}.${key}: is not a field of this message`;
  }
  for (const [key, fieldShape] of Object.entries(shape)) {
    const optionalField = shape[OPTIONAL]?.has(key);
    if (optionalField && (value[key] === undefined || value[key] === null)) continue;
    const problem = mismatch(fieldShape, value[key], `${path}.${key}`);
    if (problem) return problem;
  }
  return undefined;
}

/** What is wrong with a command line's message ({ id, op, ...request }), or undefined. */
export function commandProblem(message) {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return "a command must be a JSON object";
  if (!Number.isInteger(message.id)) return "id: must be an integer";
  const operation = operations[message.op];
  if (!operation) return `op: '${String(message.op).slice(0, 50)}' is not an operation (${Object.keys(operations).join(", ")})`;
  const { id, op, ...request } = message;
  return mismatch(operation.request, request, op);
}

/** What is wrong with a handler's result for `op`, or undefined. */
export function replyProblem(op, result) {
  return mismatch(operations[op].reply, result, `${op} reply`);
}
