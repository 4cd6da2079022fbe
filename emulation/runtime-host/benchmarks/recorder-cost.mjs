// What the telemetry recorder costs workerd, without a harness around it (ADR 0036):
//   npm run bench:recorder --prefix workers [-- <rounds> <requests per round>]
//
// One workerd runs the same small Worker four ways: plain, plain again (an A/A pair: the noise), with
// only the `nodejs_als` compatibility flag the recorder needs (no AsyncLocalStorage made or run), and
// traced (the flag and the recorder, trace-context.js, installed before the Worker's module loads, as
// stacks.mjs does). Requests go to each in turn, in interleaved rounds, with and without an outbound
// fetch (to a fifth Worker); the CPU of the workerd process is read per thread from /proc/…/schedstat.
// The harness-level `telemetry` benchmark measures the whole cost at once; this one says which part is
// the flag's and which the recorder's.
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// Miniflare is the Workers' dependency (workers/node_modules), as the runtime host takes it.
const { Miniflare } = createRequire(new URL("../../../workers/package.json", import.meta.url))("miniflare");

const rounds = Number(process.argv[2] ?? 20);
const perRound = Number(process.argv[3] ?? 300);
if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(perRound) && perRound > 0)) {
  console.error("usage: recorder-cost.mjs [rounds > 0] [requests per round > 0]");
  process.exit(2);
}
const MARKER = "@@bench ";
const WARM_UP = 2000;

const source = (file) => readFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), "utf8");
// A Worker with a little of what the stack Workers do: awaits, a JSON body, optionally a subrequest.
const APP = `export default {
  async fetch(request) {
    const url = new URL(request.url);
    let sum = 0;
    for (let i = 0; i < 20; i++) sum += await Promise.resolve(i);
    const items = Array.from({ length: 50 }, (_, i) => ({ id: "c" + i, name: "Client " + i, status: "active", sum }));
    if (url.pathname === "/fetch") await (await fetch("http://other/x", { headers: { accept: "text/plain" } })).text();
    return Response.json({ items });
  },
};`;

function worker(name, { flag = false, traced = false } = {}) {
  const entry = traced
    ? `import "./install.js";\nimport { tracedWorker } from "./trace-context.js";\nimport app from "./app.js";\nexport default tracedWorker(app, ${JSON.stringify({ marker: MARKER, stack: name, tenant: "bench" })});`
    : `import app from "./app.js";\nexport default app;`;
  return {
    name,
    modulesRoot: "/bench",
    modules: [
      { type: "ESModule", path: "/bench/entry.js", contents: entry },
      { type: "ESModule", path: "/bench/app.js", contents: APP },
      ...(traced
        ? [
            { type: "ESModule", path: "/bench/install.js", contents: `import { installTracing } from "./trace-context.js";\ninstallTracing();` },
            ...["trace-context.js", "trace-ids.mjs", "otlp.mjs"].map((file) => ({ type: "ESModule", path: `/bench/${file}`, contents: source(file) })),
          ]
        : []),
    ],
    compatibilityDate: "2026-07-01",
    compatibilityFlags: flag || traced ? ["nodejs_als"] : [],
    routes: [`${name}.bench/*`],
    outboundService: "other",
  };
}

const variants = [
  { name: "plain", label: "plain" },
  { name: "plain-again", label: "plain again (A/A)" },
  { name: "flag", label: "nodejs_als flag only" },
  { name: "traced", label: "traced (flag + recorder)" },
];
let records = 0;
const mf = new Miniflare({
  workers: [
    worker("plain"),
    worker("plain-again"),
    worker("flag", { flag: true }),
    worker("traced", { traced: true }),
    { name: "other", modules: true, script: `export default { fetch() { return new Response("ok"); } };` },
  ],
  // The traced Worker's records (and nothing else) arrive here: counted and dropped, as the host would read them.
  handleRuntimeStdio(stdout, stderr) {
    let tail = "";
    stdout.setEncoding("utf8").on("data", (chunk) => {
      const text = tail + chunk;
      records += text.split(MARKER).length - 1;
      tail = text.slice(-(MARKER.length - 1));
    });
    stderr.resume();
  },
});

try {
  await mf.ready;
  const workerd = execFileSync("pgrep", ["-P", String(process.pid), "workerd"], { encoding: "utf8" }).trim().split("\n").map(Number);
  const cpuNs = () => workerd.reduce((sum, pid) => sum + readdirSync(`/proc/${pid}/task`).reduce((threads, task) => threads + threadNs(`/proc/${pid}/task/${task}/schedstat`), 0), 0);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 120));
  console.log(`recorder cost — one workerd, ${rounds} interleaved rounds of ${perRound} requests per variant; workerd CPU per request (µs)`);
  console.log("| path | " + variants.map((v) => v.label).join(" | ") + " |");
  console.log("|---|" + variants.map(() => "---|").join(""));
  for (const path of ["/", "/fetch"]) {
    const send = async (variant) => (await mf.dispatchFetch(`http://${variant.name}.bench${path}`)).arrayBuffer();
    for (let i = 0; i < WARM_UP; i++) for (const variant of variants) await send(variant);
    const spent = new Map(variants.map((v) => [v.name, 0]));
    for (let round = 0; round < rounds; round++) {
      for (const variant of round % 2 ? [...variants].reverse() : variants) {
        // A traced variant's record batch (written up to 100 ms after its first record) lands in its own round.
        await settle();
        const before = cpuNs();
        for (let i = 0; i < perRound; i++) await send(variant);
        await settle();
        spent.set(variant.name, spent.get(variant.name) + cpuNs() - before);
      }
    }
    // Every traced request must have written its record, or the figures mean nothing.
    const tracedRequests = (WARM_UP + rounds * perRound) * (path === "/" ? 1 : 2);
    if (records < tracedRequests) throw new Error(`the traced Worker wrote ${records} records for ${tracedRequests} requests`);
    const perRequest = variants.map((v) => spent.get(v.name) / (rounds * perRound) / 1000);
    console.log(`| ${path} | ` + perRequest.map((us, i) => (i === 0 ? us.toFixed(1) : `${us.toFixed(1)} (${us - perRequest[0] >= 0 ? "+" : ""}${(us - perRequest[0]).toFixed(1)})`)).join(" | ") + " |");
  }
} finally {
  await mf.dispose();
}

/** A thread's run time (ns), or 0 for one that ended meanwhile. */
function threadNs(schedstat) {
  try {
    return Number(readFileSync(schedstat, "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}
