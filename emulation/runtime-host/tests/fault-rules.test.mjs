import { test } from "node:test";
import assert from "node:assert/strict";
import { FaultRules, applyFault } from "../fault-rules.mjs";

const overloaded = { operation: "query", probability: 1, message: "D1 DB is overloaded. Too many requests queued." };

test("a rule fires for its operation only, and '*' for every operation", () => {
  const rules = new FaultRules();
  rules.set([overloaded]);
  assert.equal(rules.pick("batch"), null);
  assert.equal(rules.pick("query")?.message, overloaded.message);
  rules.set([{ ...overloaded, operation: "*" }]);
  for (const operation of ["query", "batch", "exec"]) assert.ok(rules.pick(operation));
});

test("a rule with times fires that often, then no more; removed and added again, it starts over", () => {
  const rules = new FaultRules();
  rules.set([{ ...overloaded, times: 2 }]);
  assert.ok(rules.pick("query"));
  assert.ok(rules.pick("query"));
  assert.equal(rules.pick("query"), null);
  rules.set([]);
  rules.set([{ ...overloaded, times: 2 }]);
  assert.ok(rules.pick("query"));
});

test("probability and the from/until window decide whether a rule fires", () => {
  const rules = new FaultRules();
  rules.set([{ ...overloaded, probability: 0.25 }]);
  assert.ok(rules.pick("query", Date.now(), () => 0.2));
  assert.equal(rules.pick("query", Date.now(), () => 0.3), null);
  const at = Date.parse("2026-11-30T12:00:00Z");
  rules.set([{ ...overloaded, from: "2026-11-30T12:00:00Z", until: "2026-11-30T12:01:00Z" }]);
  assert.equal(rules.pick("query", at - 1), null);
  assert.ok(rules.pick("query", at));
  assert.equal(rules.pick("query", at + 60_000), null);
});

test("the error is thrown as D1's binding throws it: D1_ERROR prefix, the text as cause", async () => {
  await assert.rejects(applyFault(overloaded), (error) => {
    assert.equal(error.message, "D1_ERROR: D1 DB is overloaded. Too many requests queued.");
    assert.equal(error.cause.message, "D1 DB is overloaded. Too many requests queued.");
    return true;
  });
});

test("a latency-only rule delays and then lets the operation run", async () => {
  const started = Date.now();
  await applyFault({ operation: "query", latencyMs: 40, jitterMs: 0 });
  assert.ok(Date.now() - started >= 35);
});

test("replacing the rules keeps an unchanged rule's count: appending another does not re-arm it", () => {
  const rules = new FaultRules();
  const spent = { ...overloaded, times: 1 };
  rules.set([spent]);
  assert.ok(rules.pick("query"));
  rules.set([spent, { ...overloaded, operation: "batch", times: 1 }]);
  assert.equal(rules.pick("query"), null);
  assert.ok(rules.pick("batch"));
  // A changed rule is a new one.
  rules.set([{ ...spent, times: 2 }]);
  assert.ok(rules.pick("query"));
});

test("a service's effect adds its latency to every call: alone, or to the rule that fires", () => {
  const rules = new FaultRules();
  rules.set([{ ...overloaded, latencyMs: 5 }], { latencyMs: 100, jitterMs: 10 });
  assert.equal(rules.empty, false);
  assert.deepEqual(rules.pick("batch"), { operation: "batch", latencyMs: 100, jitterMs: 10 });
  const fired = rules.pick("query");
  assert.equal(fired.message, overloaded.message);
  assert.equal(fired.latencyMs, 105);
  rules.set([], { latencyMs: 0, jitterMs: 0 });
  assert.equal(rules.empty, true);
  assert.equal(rules.pick("query"), null);
});
