import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EgressGuard } from "../egress-guard.mjs";
import { EgressLog } from "../egress-log.mjs";

/** A stack as the guard sees it: records what it fetched; nothing is fetched for real. */
function caller() {
  return { recorded: [], logged: [], recordEgress(e) { this.recorded.push(e); }, logFromMiniflare(level, line) { this.logged.push(line); } };
}

function guard(stacks = {}, fetched = []) {
  const mf = { Response, fetch: async (request) => (fetched.push(request.url), new Response("fetched")) };
  return new EgressGuard({ mf, workersSubdomain: "emulator", findStack: (name) => stacks[name] });
}

test("only what the policy names is allowed: other stacks, the Cloudflare API, exact hosts and *.suffixes", () => {
  const g = guard();
  g.setPolicy({ allow: ["api.example.com", "*.eu.example.net"], cloudflareApi: "127.0.0.1:8787" });
  assert.match(g.rule(new URL("https://acct-acme.emulator.workers.dev/api")), /workers\.dev/);
  assert.equal(g.rule(new URL("http://127.0.0.1:8787/client/v4/accounts")), "the Cloudflare API");
  assert.equal(g.rule(new URL("https://API.example.com/x")), "policy: api.example.com");
  assert.equal(g.rule(new URL("https://a.b.eu.example.net/x")), "policy: *.eu.example.net");
  for (const blocked of [
    "http://127.0.0.1:8788/", // another loopback port: another stack's control entrypoint, say
    "https://example.com/",
    "https://api.example.com.evil.org/",
    "https://eu.example.net.evil.org/",
    "https://acct-acme.emulator.workers.dev.evil.org/",
    "https://acct-acme.other.workers.dev/",
  ]) {
    assert.equal(g.rule(new URL(blocked)), undefined, blocked);
  }
});

test("a refused fetch is a 403 the Worker can tell apart, recorded without its query string and logged", async () => {
  const stack = caller();
  const fetched = [];
  const response = await guard({}, fetched).outbound(stack, new Request("https://collector.example.com/upload?ssn=123", { method: "POST", body: "x" }));
  assert.equal(response.status, 403);
  assert.equal(response.headers.get("x-emulator-egress"), "blocked");
  assert.deepEqual(fetched, []);
  assert.equal(stack.recorded.length, 1);
  assert.equal(stack.recorded[0].destination, "https://collector.example.com/upload");
  assert.equal(stack.recorded[0].allowed, false);
  assert.ok(stack.logged.some((line) => line.includes("egress blocked")));
});

test("a fetch to another stack: unknown script 404, Miniflare's /cdn-cgi/ 404, a stack that is down 502", async () => {
  const down = { state: "failed", settled: async () => {}, inFlight: 0 };
  const g = guard({ down });
  assert.equal((await g.outbound(caller(), new Request("https://nobody.emulator.workers.dev/"))).status, 404);
  assert.equal((await g.outbound(caller(), new Request("https://down.emulator.workers.dev/cdn-cgi/local/r2/public/b/k"))).status, 404);
  assert.equal((await g.outbound(caller(), new Request("https://down.emulator.workers.dev/api"))).status, 502);
});

test("an allowed fetch beyond the harness goes out, marked as the edge marks a Worker's subrequest", async () => {
  const fetched = [];
  const g = guard({}, fetched);
  g.setPolicy({ allow: ["api.example.com"] });
  const request = new Request("https://api.example.com/rates", { headers: { "cf-connecting-ip": "10.0.0.1" } });
  assert.equal(await (await g.outbound(caller(), request)).text(), "fetched");
  assert.deepEqual(fetched, ["https://api.example.com/rates"]);
  assert.equal(request.headers.get("cf-worker"), "emulator.workers.dev");
  assert.equal(request.headers.get("cf-connecting-ip"), null);
});

test("the egress log keeps its entries across a restart and bounds its file", () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "egress-log-"));
  const log = new EgressLog(folder);
  for (let i = 0; i < 3000; i++) log.record({ at: String(i), destination: `https://example.com/${"x".repeat(400)}`, allowed: false });
  assert.equal(log.entries.length, 500);
  assert.ok(readFileSync(path.join(folder, "egress.jsonl")).length <= 1024 * 1024 + 1024);
  const again = new EgressLog(folder);
  assert.equal(again.entries.at(-1).at, "2999");
  assert.equal(again.entries.length, 500);
});

test("a partitioned stack cannot be reached from another: its callers see a lost connection, never the stack", async () => {
  let reached = false;
  const target = { state: "running", url: "http://127.0.0.1:1", inFlight: 0, settled: async () => { reached = true; } };
  const mf = { Response, fetch: async () => new Response("fetched") };
  const cut = new Set(["acct-b"]);
  const g = new EgressGuard({ mf, workersSubdomain: "emulator", findStack: (name) => (name === "acct-b" ? target : undefined), isPartitioned: (name) => cut.has(name) });

  const response = await g.outbound(caller(), new Request("https://acct-b.emulator.workers.dev/api/clients"));

  assert.equal(response.status, 502);
  assert.match(await response.text(), /Network connection lost\./);
  assert.equal(reached, false);
});

test("route rules fail calls to the stack they name, egress rules the named stack's own fetches beyond the harness", async () => {
  let reached = 0;
  const target = { state: "running", url: "http://127.0.0.1:1", inFlight: 0, settled: async () => { reached++; } };
  const fetched = [];
  const mf = { Response, fetch: async (request) => (fetched.push(request.url), new Response("fetched")) };
  const g = new EgressGuard({ mf, workersSubdomain: "emulator", findStack: (name) => (name === "acct-b" ? target : undefined) });
  g.setPolicy({ allow: ["api.example.com"] });
  const lost = { operation: "fetch", probability: 1, message: "Network connection lost.", latencyMs: 0, jitterMs: 0 };
  g.setHopFaults([{ ...lost, service: "route", stack: "acct-b", times: 1 }, { ...lost, service: "egress", stack: "acct-a" }]);
  const acctA = { ...caller(), name: "acct-a" };
  const acctC = { ...caller(), name: "acct-c" };

  const cut = await g.outbound(acctC, new Request("https://acct-b.emulator.workers.dev/api"));
  assert.equal(cut.status, 502);
  assert.match(await cut.text(), /Network connection lost\./);
  assert.equal(reached, 0);
  // times: 1 — the next call goes through to the stack (which, being fake, answers nothing: still a 502, but reached).
  await g.outbound(acctC, new Request("https://acct-b.emulator.workers.dev/api"));
  assert.equal(reached, 1);

  assert.equal((await g.outbound(acctA, new Request("https://api.example.com/x"))).status, 502);
  assert.equal((await g.outbound(acctC, new Request("https://api.example.com/x"))).status, 200);
  assert.deepEqual(fetched, ["https://api.example.com/x"]);
  // Cleared: acct-a's fetches go out again.
  g.setHopFaults([]);
  assert.equal((await g.outbound(acctA, new Request("https://api.example.com/x"))).status, 200);
});
