import { test } from "node:test";
import assert from "node:assert/strict";
import { commandProblem, replyProblem, mismatch, operations } from "../protocol.mjs";

const spec = { name: "acct-acme", worker: "account", persistDir: "/s", port: 0, d1: { DB: "id" }, r2: {}, kv: {}, vars: {} };

test("a well-formed command of every kind passes; optional fields may be absent or null", () => {
  assert.equal(commandProblem({ id: 1, op: "start", stack: spec }), undefined);
  assert.equal(commandProblem({ id: 2, op: "start", stack: { ...spec, script: null, persist: { d1: "/d1", r2: null } } }), undefined);
  assert.equal(commandProblem({ id: 3, op: "egress", name: null }), undefined);
  assert.equal(commandProblem({ id: 4, op: "egress" }), undefined);
});

test("a malformed command names the operation and the field", () => {
  assert.equal(commandProblem({ id: 1, op: "start", stack: { ...spec, port: 1.5 } }), "start.stack.port: must be an integer");
  assert.equal(commandProblem({ id: 1, op: "start", stack: { ...spec, vars: { A: 1 } } }), "start.stack.vars.A: must be a string");
  assert.equal(commandProblem({ id: 1, op: "start" }), "start.stack: is required (an object)");
  assert.equal(commandProblem({ id: 1, op: "egress-policy", policy: { allow: "x" } }), "egress-policy.policy.allow: must be an array");
  assert.equal(commandProblem({ id: 1, op: "stop", name: "a", extra: true }), "stop.extra: is not a field of this message");
  assert.match(commandProblem({ id: 1, op: "d1" }), /^op: 'd1' is not an operation/);
  assert.equal(commandProblem({ op: "stop", name: "a" }), "id: must be an integer");
  assert.equal(commandProblem([1]), "a command must be a JSON object");
});

test("a reply is checked against its operation's shape", () => {
  assert.equal(replyProblem("stop", { name: "a", state: "stopped" }), undefined);
  assert.equal(replyProblem("stop", { name: "a" }), "stop reply.state: is required (string)");
  assert.equal(replyProblem("bindings", ["DB"]), "bindings reply: must be an object");
});

test("every operation declares a request and a reply", () => {
  for (const [op, { request, reply }] of Object.entries(operations)) {
    assert.equal(typeof request, "object", op);
    assert.equal(typeof reply, "object", op);
  }
  assert.equal(mismatch({ "*": ["string"] }, { a: ["x"], b: [2] }, "m"), "m.b[0]: must be a string");
});
