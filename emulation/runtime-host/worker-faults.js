// The chaos API's "worker" rules: a stack Worker's fetch handler failing as Cloudflare's edge reports
// a Worker that failed — an uncaught exception (1101) or exceeded resource limits (1102) — or
// answering late. stacks.mjs puts the Worker's default export behind `faultedWorker`; the control
// entrypoint (same isolate) sets the rules. With no rules a request goes straight to the Worker.
// Each invocation is also measured (invocation-meter.js) for the load report.
import { FaultRules } from "./__emulator-fault-rules.js";
import { endInvocation, meteredEnv, startInvocation } from "./__emulator-invocation-meter.js";

export const workerFaults = new FaultRules();

/**
 * The Worker's default export with its fetch handler behind the rules; everything else (other
 * handlers, properties) reached through it unchanged. A default export that is not an object with a
 * fetch handler (a class, say) is returned as it is: no worker rules apply to it.
 */
export function faultedWorker(worker) {
  if (worker === null || typeof worker !== "object" || typeof worker.fetch !== "function") return worker;
  const handler = worker.fetch;
  const faulted = Object.create(worker);
  faulted.fetch = async function (request, env, ctx) {
    const invocation = startInvocation(request);
    const run = () => handler.call(worker, request, meteredEnv(env, invocation), ctx);
    try {
      const rule = workerFaults.empty ? null : workerFaults.pick("fetch");
      return await (rule ? answer(rule, run) : run());
    } finally {
      endInvocation(invocation);
    }
  };
  return faulted;
}

/**
 * After the rule's latency: its error as the edge answers it to the caller (status, and the plain
 * text it sends clients that are not browsers: "error code: <code>"), logged as the runtime logs the
 * failure; or, for a latency-only rule, the Worker's own answer.
 */
async function answer(rule, run) {
  const delay = (rule.latencyMs ?? 0) + Math.random() * (rule.jitterMs ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  if (!rule.message) return run();
  console.error(`Error ${rule.code}: ${rule.message} (a chaos rule)`);
  return new Response(`error code: ${rule.code}`, {
    status: rule.status,
    headers: { "content-type": "text/plain; charset=UTF-8", "cf-error-code": String(rule.code) },
  });
}
