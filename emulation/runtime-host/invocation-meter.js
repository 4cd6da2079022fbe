// What one invocation of a stack Worker's fetch handler asks of the platform, measured against the
// per-invocation limits Cloudflare documents: D1 queries, calls to R2 and KV (subrequests), R2 and KV calls
// in flight at once (simultaneous connections) and the request body's size. The handler gets its `env`
// through a proxy that counts the calls its D1, R2 and KV bindings receive; when it answers, the
// invocation's counts raise the largest seen. Each stack's totals (requests, these largest) are read
// through the control entrypoint (GET /usage); the limits themselves live with the harness's pricing
// (emulation/Cloudflare.Emulation/Load/CloudflarePricing.cs), which compares them.
//
// Outbound fetch() calls are not counted per invocation: without AsyncLocalStorage (the Workers do
// not enable nodejs_compat) a global fetch cannot tell which invocation made it.

/** A wrapped binding (D1, R2, KV) is recognised by this key (storage-bindings.js, d1-replication.js). */
const BINDING = Symbol.for("cloudflare-emulator.binding");
/** In a traced stack, each R2 and KV call is also a span of the invocation (trace-context.js). */
export const TRACING = Symbol.for("cloudflare-emulator.tracing");

/** The fetch handler's totals since the stack started. */
export const invocationUsage = {
  requests: 0,
  maxD1Queries: 0,
  maxStorageOperations: 0,
  /** D1 queries and R2 and KV calls together, as Cloudflare counts subrequests (fetch() aside). */
  maxSubrequests: 0,
  maxConcurrentCalls: 0,
  maxRequestBodyBytes: 0,
};

/** Starts the largest-per-invocation figures again (a load run measures its own window). */
export function resetPeaks() {
  for (const key of Object.keys(invocationUsage)) if (key.startsWith("max")) invocationUsage[key] = 0;
}

/** One invocation's counts, started for a request; `end` folds them into the totals. */
export function startInvocation(request) {
  invocationUsage.requests += 1;
  const length = Number(request.headers.get("content-length") ?? 0);
  return { d1Queries: 0, storageOperations: 0, inFlight: 0, maxInFlight: 0, bodyBytes: Number.isFinite(length) ? length : 0 };
}

export function endInvocation(invocation) {
  invocationUsage.maxD1Queries = Math.max(invocationUsage.maxD1Queries, invocation.d1Queries);
  invocationUsage.maxStorageOperations = Math.max(invocationUsage.maxStorageOperations, invocation.storageOperations);
  invocationUsage.maxSubrequests = Math.max(invocationUsage.maxSubrequests, invocation.d1Queries + invocation.storageOperations);
  invocationUsage.maxConcurrentCalls = Math.max(invocationUsage.maxConcurrentCalls, invocation.maxInFlight);
  invocationUsage.maxRequestBodyBytes = Math.max(invocationUsage.maxRequestBodyBytes, invocation.bodyBytes);
}

/** The Worker's env with each D1, R2 and KV binding counting its calls into the invocation. */
export function meteredEnv(env, invocation) {
  if (env === null || typeof env !== "object") return env;
  const metered = new Map();
  return new Proxy(env, {
    get(target, property) {
      const value = Reflect.get(target, property);
      const control = value !== null && typeof value === "object" ? value[BINDING] : undefined;
      if (!control) return value;
      if (!metered.has(property)) metered.set(property, control.service === "d1" ? new MeteredD1(value, invocation) : meteredStorage(value, invocation, control.service, String(property)));
      return metered.get(property);
    },
  });
}

/**
 * Counts an R2 or KV call in flight until it settles: Cloudflare's simultaneous-connection limit
 * counts those (and fetch), not D1 queries.
 */
function track(invocation, result) {
  if (result === null || typeof result?.then !== "function") return result;
  invocation.inFlight += 1;
  invocation.maxInFlight = Math.max(invocation.maxInFlight, invocation.inFlight);
  return result.finally(() => (invocation.inFlight -= 1));
}

/** An R2 bucket or KV namespace whose asynchronous calls each count as one operation (and, traced, are spans). */
function meteredStorage(binding, invocation, service, name) {
  const tracing = globalThis[TRACING];
  return new Proxy(binding, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      const call = (args) => {
        const result = value.apply(target, args);
        if (typeof result?.then !== "function") return result;
        invocation.storageOperations += 1;
        return track(invocation, result);
      };
      if (!tracing || typeof property !== "string") return (...args) => call(args);
      return (...args) => tracing.span(`${service}_${property}`, storageAttributes(service, name, args[0]), () => call(args));
    },
  });
}

/** A storage span (named as workerd names them: r2_put, kv_get…) says what workerd's do: the binding and the key, not the value. */
function storageAttributes(service, name, key) {
  const keyText = typeof key === "string" ? key : undefined;
  return service === "kv"
    ? { "db.system.name": "cloudflare-kv", "cloudflare.binding.type": "KV", "cloudflare.binding.name": name, ...(keyText ? { "cloudflare.kv.query.keys": keyText } : {}) }
    : { "cloudflare.binding.type": "r2", "cloudflare.binding.name": name, ...(keyText ? { "cloudflare.r2.request.key": keyText } : {}) };
}

/** D1's database (or a session of it): each statement run is one query. */
class MeteredD1 {
  #inner;
  #invocation;
  constructor(inner, invocation) {
    this.#inner = inner;
    this.#invocation = invocation;
    // The control keys of the binding stay reachable, as on the binding itself.
    for (const key of Object.getOwnPropertySymbols(inner)) Object.defineProperty(this, key, { value: inner[key], enumerable: false });
  }
  prepare(sql) {
    return new MeteredStatement(this.#inner.prepare(sql), this.#invocation);
  }
  batch(statements) {
    this.#invocation.d1Queries += statements.length;
    return this.#inner.batch(statements.map((s) => (s instanceof MeteredStatement ? s.inner : s)));
  }
  exec(sql) {
    this.#invocation.d1Queries += 1;
    return this.#inner.exec(sql);
  }
  withSession(...args) {
    return new MeteredD1(this.#inner.withSession(...args), this.#invocation);
  }
  getBookmark() {
    return this.#inner.getBookmark();
  }
  dump() {
    return this.#inner.dump();
  }
}

class MeteredStatement {
  #invocation;
  constructor(inner, invocation) {
    this.inner = inner;
    this.#invocation = invocation;
  }
  bind(...values) {
    return new MeteredStatement(this.inner.bind(...values), this.#invocation);
  }
  all() {
    return this.#run(() => this.inner.all());
  }
  run() {
    return this.#run(() => this.inner.run());
  }
  first(column) {
    return this.#run(() => this.inner.first(column));
  }
  raw(options) {
    return this.#run(() => this.inner.raw(options));
  }
  #run(call) {
    this.#invocation.d1Queries += 1;
    return call();
  }
}
