// The R2 buckets and KV namespaces a stack's Worker holds: each real binding behind a thin wrapper
// (a Miniflare wrapped binding, so it runs in the Worker's own isolate) that applies the chaos API's
// fault rules where production's binding raises its errors, and for KV an optional propagation delay
// (reads see each key as it was that long ago, as another Cloudflare location would). With no rules
// and no delay a call goes straight to the real binding.
//
// Miniflare takes a wrapped binding's script as one module: stacks.mjs writes fault-rules.mjs in
// ahead of this one (the import below is replaced).

import { FaultRules, applyFault } from "./fault-rules.js";

/** The control entrypoint finds a wrapped binding's rules (and KV's delay) through this key. */
const BINDING = Symbol.for("cloudflare-emulator.binding");

/** The methods whose calls are R2 operations; others (resumeMultipartUpload, which is synchronous) pass through. */
const R2_OPERATIONS = new Set(["head", "get", "put", "delete", "list", "createMultipartUpload"]);
const KV_OPERATIONS = { get: "get", getWithMetadata: "get", put: "put", delete: "delete", list: "list" };

/** One control per binding and isolate (a stack's Worker and its control entrypoint share one). */
const controls = new Map();

function controlOf(service, name) {
  const key = `${service}:${name}`;
  let control = controls.get(key);
  if (!control) controls.set(key, (control = { service, name, faults: new FaultRules(), staleness: new Staleness(), usage: { operations: {} } }));
  return control;
}

/** The R2 bucket binding `env.__binding` names, with fault rules. */
export function r2(env) {
  const control = controlOf("r2", env.__binding);
  return wrap(env[env.__binding], control, (method) => (R2_OPERATIONS.has(method) ? method : undefined));
}

/** The KV namespace binding `env.__binding` names, with fault rules and the propagation delay. */
export function kv(env) {
  const control = controlOf("kv", env.__binding);
  const inner = env[env.__binding];
  return wrap(inner, control, (method) => KV_OPERATIONS[method], (method, args) => control.staleness.call(inner, method, args));
}

/**
 * A proxy of the real binding whose operations first meet the fault rules. `call` runs an
 * operation (the real method unless given, e.g. KV's delayed reads).
 */
function wrap(inner, control, operationOf, call = undefined) {
  return new Proxy(inner, {
    get(target, property) {
      if (property === BINDING) return control;
      const value = Reflect.get(target, property);
      const operation = typeof value === "function" ? operationOf(property) : undefined;
      if (!operation) return typeof value === "function" ? value.bind(target) : value;
      const run = (args) => (call && control.staleness.delayMs > 0 ? call(property, args) : value.apply(target, args));
      return (...args) => {
        // What production would bill (R2 class A/B, KV reads/writes): every call, failed or not.
        control.usage.operations[property] = (control.usage.operations[property] ?? 0) + 1;
        const rule = control.faults.empty ? null : control.faults.pick(operation);
        if (!rule) return run(args);
        return applyFault(rule, control.service, operation).then(() => run(args));
      };
    },
  });
}

/**
 * KV's propagation across locations, on demand: while a delay is set, a read sees each key as it was
 * `delayMs` ago (with `probability`; otherwise as it is now) — the previous value, or a miss for a
 * key written within the delay, as a location that cached it (or cached its absence) would.
 * Writes go to the namespace at once; each remembers the value it replaced, for as long as it is
 * within the delay. Lists are not delayed.
 */
class Staleness {
  delayMs = 0;
  probability = 1;
  /** key → [{ at, before: { value: ArrayBuffer | null, metadata } }], oldest first. */
  #writes = new Map();

  set({ delayMs = 0, probability = 1 } = {}) {
    this.delayMs = delayMs;
    this.probability = probability;
    if (delayMs === 0) this.#writes.clear();
    return { delayMs, probability };
  }

  async call(inner, method, args) {
    const key = args[0];
    if (method === "put" || method === "delete") {
      if (typeof key === "string") await this.#remember(inner, key);
      return inner[method](...args);
    }
    if ((method === "get" || method === "getWithMetadata") && typeof key === "string") {
      const before = this.#asOf(key, Date.now() - this.delayMs);
      if (before && Math.random() < this.probability) return shaped(before, method, args[1]);
    }
    return inner[method](...args);
  }

  /**
   * What `key` held at `since` when it has been written after that (the value the first such write
   * replaced); undefined when it has not. Writes older than that are forgotten.
   */
  #asOf(key, since) {
    const writes = this.#writes.get(key);
    if (!writes) return undefined;
    while (writes.length > 0 && writes[0].at <= since) writes.shift();
    if (writes.length === 0) this.#writes.delete(key);
    return writes[0]?.before;
  }

  async #remember(inner, key) {
    const { value, metadata } = await inner.getWithMetadata(key, "arrayBuffer");
    const writes = this.#writes.get(key) ?? [];
    writes.push({ at: Date.now(), before: { value, metadata } });
    this.#writes.set(key, writes);
  }
}

/** A remembered value as get/getWithMetadata return it, for the type the caller asked for. */
function shaped({ value, metadata }, method, options) {
  const type = (typeof options === "string" ? options : options?.type) ?? "text";
  let result = null;
  if (value !== null) {
    if (type === "arrayBuffer") result = value.slice(0);
    else if (type === "stream") result = new Response(value.slice(0)).body;
    else {
      const text = new TextDecoder().decode(value);
      result = type === "json" ? JSON.parse(text) : text;
    }
  }
  return method === "getWithMetadata" ? { value: result, metadata: value === null ? null : metadata, cacheStatus: null } : result;
}
