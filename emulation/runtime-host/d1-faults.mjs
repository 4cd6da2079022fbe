// Fault rules for one D1 database, applied inside its binding (d1-replication.js) where production's
// D1 raises its errors: the Worker sees the failure exactly as it would see D1's own. The rules come
// from the harness's chaos API with each error's text already resolved (the catalogue lives there,
// emulation/Cloudflare.Emulation/Chaos/FaultCatalogue.cs); this module only decides which rule fires.

/** The rules of one database: { operation, probability, times?, message?, latencyMs, jitterMs, from?, until? }. */
export class FaultRules {
  #rules = [];

  /**
   * Replaces the rules. A rule that was there before, unchanged, keeps its count of firings (another
   * rule appended must not re-arm one already spent); a new or changed one starts from zero.
   */
  set(rules) {
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

  get empty() {
    return this.#rules.length === 0;
  }

  /**
   * The first rule that fires for this operation now ("query", "batch" or "exec"), counted as fired;
   * null when none does. A rule fires within its window, while it has firings left, with its probability.
   */
  pick(operation, now = Date.now(), random = Math.random) {
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

/**
 * What a rule does: waits its latency (plus up to its jitter), then throws its error as D1's binding
 * throws one — an Error whose message is "D1_ERROR: <text>", with the text itself as its cause.
 */
export async function applyFault(rule, random = Math.random) {
  const delay = (rule.latencyMs ?? 0) + random() * (rule.jitterMs ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  if (rule.message) throw new Error(`D1_ERROR: ${rule.message}`, { cause: new Error(rule.message) });
}
