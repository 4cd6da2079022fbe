// Fault rules for one binding (a D1 database, an R2 bucket, a KV namespace) or one Worker's fetch
// handler, applied inside it where production raises its errors: the Worker sees the failure exactly
// as it would see the real one. The rules come from the harness's chaos API with each error's text
// already resolved (the catalogue lives there, emulation/Cloudflare.Emulation/Chaos/FaultCatalogue.cs);
// this module decides which rule fires and throws the error the way each binding throws its own.

/** The rules of one binding: { operation, probability, times?, message?, code?, latencyMs, jitterMs, from?, until? }. */
export class FaultRules {
  #rules = [];
  /** The chaos API's effect for the whole service: { latencyMs, jitterMs } added to every call, or null. */
  #effect = null;

  /**
   * Replaces the rules (and the service's effect). A rule that was there before, unchanged, keeps its
   * count of firings (another rule appended must not re-arm one already spent); a new or changed one
   * starts from zero.
   */
  set(rules, effect = null) {
    this.#effect = effect && (effect.latencyMs > 0 || effect.jitterMs > 0) ? { latencyMs: effect.latencyMs ?? 0, jitterMs: effect.jitterMs ?? 0 } : null;
    const before = this.#rules.map((rule) => ({ key: keyOf(rule), rule }));
    this.#rules = rules.map((rule) => {
      const same = before.findIndex((b) => b.key === keyOf(rule));
      const fired = same >= 0 ? before.splice(same, 1)[0].rule.fired : 0;
      return { ...rule, fired };
    });
    return this.list();
  }

  list() {
    return this.#rules.map((rule) => ({ ...rule }));
  }

  get effect() {
    return this.#effect && { ...this.#effect };
  }

  get empty() {
    return this.#rules.length === 0 && this.#effect === null;
  }

  /**
   * The first rule that fires for this operation now (D1's "query", R2's "put", …), counted as fired;
   * null when none does. A rule fires within its window, while it has firings left, with its probability.
   * The service's effect adds its latency to the rule that fires, or stands alone when none does.
   */
  pick(operation, now = Date.now(), random = Math.random) {
    const rule = this.#fired(operation, now, random);
    if (!this.#effect) return rule;
    if (!rule) return { operation, ...this.#effect };
    return { ...rule, latencyMs: (rule.latencyMs ?? 0) + this.#effect.latencyMs, jitterMs: (rule.jitterMs ?? 0) + this.#effect.jitterMs };
  }

  #fired(operation, now, random) {
    for (const rule of this.#rules) {
      if (rule.operation !== "*" && rule.operation !== operation) continue;
      if (rule.from && now < Date.parse(rule.from)) continue;
      if (rule.until && now >= Date.parse(rule.until)) continue;
      if (rule.times !== undefined && rule.times !== null && rule.fired >= rule.times) continue;
      if (random() >= (rule.probability ?? 1)) continue;
      rule.fired++;
      return rule;
    }
    return null;
  }
}

/** A rule's content, without its count: what makes two rules the same rule. */
function keyOf({ fired, ...rule }) {
  return JSON.stringify(Object.entries(rule).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** How each binding throws an error of its own, for a rule's resolved text (and R2's code). */
export const bindingErrors = {
  // D1: "D1_ERROR: <text>", with the text itself as the cause.
  d1: (rule) => new Error(`D1_ERROR: ${rule.message}`, { cause: new Error(rule.message) }),
  // R2: workerd's R2Error — "<action>: <text> (<code>)", with the code and action as properties.
  r2: (rule, operation) => Object.assign(new Error(`${operation}: ${rule.message} (${rule.code})`), { name: "R2Error", code: rule.code, action: operation }),
  // KV: the binding's own text, e.g. "KV PUT failed: 429 Too Many Requests".
  kv: (rule) => new Error(rule.message),
};

/**
 * What a rule does: waits its latency (plus up to its jitter), then, when it carries an error,
 * throws it as `service`'s binding throws one.
 */
export async function applyFault(rule, service = "d1", operation = undefined, random = Math.random) {
  const delay = (rule.latencyMs ?? 0) + random() * (rule.jitterMs ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  if (rule.message) throw bindingErrors[service](rule, operation);
}
