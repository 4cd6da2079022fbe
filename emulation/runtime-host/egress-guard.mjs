// The egress guard: every outbound fetch of every stack's Worker comes here (Miniflare's
// outboundService). It is recorded for the stack and refused unless the residency policy allows the
// destination; a fetch to another stack of the harness (<script>.<subdomain>.workers.dev) is sent
// to that stack's own port, as the edge would route it.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { sendToStack } from "./stack-hop.mjs";
import { FaultRules } from "./fault-rules.mjs";

export class EgressGuard {
  /**
   * @param {{ mf: { fetch: Function, Response: typeof Response }, workersSubdomain: string, findStack: (name: string) => any }} options
   *   Miniflare's fetch and Response (it hands over its own undici Requests), the harness's workers.dev
   *   subdomain, and how to find a stack by its script name.
   */
  constructor({ mf, workersSubdomain, findStack, isPartitioned = () => false }) {
    this.isPartitioned = isPartitioned;
    this.mf = mf;
    this.findStack = findStack;
    // <script>.<subdomain>.workers.dev reaches that script's stack, as it would on Cloudflare.
    this.workersDev = new RegExp(`^([a-z0-9][a-z0-9_-]*)\\.${workersSubdomain}\\.workers\\.dev$`);
    this.workersZone = `${workersSubdomain}.workers.dev`;
    // Lets the guard tell a stack the URL a request was really sent to (Miniflare's entry rewrites
    // request.url and Host from it); only this process knows it.
    this.forwardingSecret = randomUUID();
    this.policy = { allow: [], cloudflareApi: undefined };
    /** The chaos API's "route" and "egress" rules, by "<service>:<stack>" (stack "*" for every one). */
    this.hopFaults = new Map();
  }

  /**
   * Replaces the route rules (another stack's calls to the stack named) and egress rules (the named
   * stack's fetches beyond the harness). Unchanged rules keep their counts (fault-rules.mjs).
   */
  setHopFaults(rules) {
    const grouped = Map.groupBy(rules, (rule) => `${rule.service}:${rule.stack}`);
    const next = new Map();
    for (const [key, list] of grouped) {
      const kept = this.hopFaults.get(key) ?? new FaultRules();
      kept.set(list);
      next.set(key, kept);
    }
    this.hopFaults = next;
    return { rules: rules.length };
  }

  /** Applies the first route/egress rule that fires for `stack`: its latency, then its error thrown (a lost connection). */
  async #hopFault(service, stack) {
    if (this.hopFaults.size === 0) return;
    const rule = this.hopFaults.get(`${service}:${stack}`)?.pick("fetch") ?? this.hopFaults.get(`${service}:*`)?.pick("fetch");
    if (!rule) return;
    const delay = (rule.latencyMs ?? 0) + Math.random() * (rule.jitterMs ?? 0);
    if (delay > 0) await sleep(delay);
    if (rule.message) throw new Error(rule.message);
  }

  /**
   * The egress policy: hosts (exact, or *.suffix) a Worker's fetch may reach, and the local Cloudflare
   * API's address (it stands for api.cloudflare.com). Until it is set, only other stacks are reachable.
   */
  setPolicy({ allow = [], cloudflareApi } = {}) {
    this.policy = { allow, cloudflareApi };
    return this.policy;
  }

  /** Why a destination may be reached, or undefined when the policy does not allow it. */
  rule(url) {
    if (this.workersDev.test(url.hostname)) return "a Worker of this harness (workers.dev)";
    if (this.policy.cloudflareApi && url.host === this.policy.cloudflareApi) return "the Cloudflare API";
    const host = url.hostname.toLowerCase();
    const pattern = this.policy.allow.find((p) => (p.startsWith("*.") ? host.endsWith(p.slice(1)) : host === p));
    return pattern ? `policy: ${pattern}` : undefined;
  }

  /** One outbound fetch of `stack`'s Worker: recorded, then refused, forwarded to another stack, or fetched. */
  async outbound(stack, request) {
    const { fetch: mfFetch, Response: MfResponse } = this.mf;
    try {
      // As the edge marks every subrequest of a Worker (Miniflare's outbound interceptor did this
      // before it was patched out for stacks): the calling zone is named, the caller's client is not.
      request.headers.set("cf-worker", this.workersZone);
      request.headers.delete("cf-connecting-ip");
      const url = new URL(request.url);
      const rule = this.rule(url);
      // Recorded without the query string: it may carry data.
      const destination = `${url.protocol}//${url.host}${url.pathname}`;
      stack.recordEgress({ at: new Date().toISOString(), method: request.method, destination, allowed: rule !== undefined, rule: rule ?? "not allowed by the residency policy" });
      if (rule === undefined) {
        stack.logFromMiniflare("error", `egress blocked: ${request.method} ${destination} is not an allowed destination (Harness:Residency:Egress)`);
        return new MfResponse(`egress blocked by the residency policy: ${url.host} is not an allowed destination`, {
          status: 403,
          headers: { "content-type": "text/plain", "x-emulator-egress": "blocked" },
        });
      }
      const script = url.hostname.match(this.workersDev)?.[1];
      if (script === undefined) {
        // Beyond the harness: the chaos API's egress rules for the calling stack fail or slow it.
        await this.#hopFault("egress", stack.name);
        return await mfFetch(request);
      }
      const target = this.findStack(script);
      if (!target) return new MfResponse(`There is nothing here yet: no script '${script}'`, { status: 404 });
      // Partitioned by the chaos API: the route to it is cut, as a network failure would cut it.
      if (this.isPartitioned(script)) throw new Error("Network connection lost.");
      // The chaos API's route rules for the stack called.
      await this.#hopFault("route", script);
      // /cdn-cgi/ belongs to Cloudflare's edge and never reaches a Worker; on a stack's port it is
      // Miniflare's local endpoints.
      if (url.pathname.startsWith("/cdn-cgi/")) return new MfResponse(`${url.pathname}: not found`, { status: 404 });
      // A stack being reloaded (new code, or its replica databases added) is back within a second, on
      // the same port: the request waits for it, as a deploy at the edge loses no request.
      await target.settled();
      // A script that exists but whose Worker is down cannot be reached: a bad gateway, as at the edge.
      if (target.state !== "running") return new MfResponse(`script '${script}' is ${target.state}`, { status: 502 });
      target.inFlight++;
      try {
        // This hop is local: ask for an unencoded body, and let the calling Worker's own response
        // be encoded for its client as usual. The target sees the URL the caller fetched
        // (https://<script>.<subdomain>.workers.dev/…), as at the edge, rather than its loopback address.
        const answer = await sendToStack(target.url + url.pathname + url.search, request, {
          "accept-encoding": "identity",
          "mf-original-url": url.href,
          "mf-proxy-shared-secret": this.forwardingSecret,
        });
        const empty = request.method === "HEAD" || answer.status === 204 || answer.status === 304;
        if (empty) answer.body.resume();
        return new MfResponse(empty ? null : answer.body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
      } finally {
        target.inFlight--;
      }
    } catch (error) {
      // The calling Worker sees a network failure, as it would on Cloudflare; never a stack trace.
      return new MfResponse(`outbound request failed: ${error.message}`, { status: 502 });
    }
  }
}
