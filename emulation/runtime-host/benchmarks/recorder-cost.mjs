// What the telemetry recorder costs workerd, without a harness around it (ADR 0036):
//   npm run bench:recorder --prefix workers [-- <rounds> <requests per round>]
//
// One workerd runs the same small Worker five ways: plain, plain again (an A/A pair: the noise), with
// only the `nodejs_als` compatibility flag the recorder needs (no AsyncLocalStorage made or run),
// traced (the flag and the recorder, trace-context.js, installed before the Worker's module loads, as
// stacks.mjs does) writing whole records to its console, and traced as a stack is, exporting its spans
// and logs through the emulator's OTLP relay (otlp-relay.js, in the same workerd) to a receiver on
// loopback here. Requests go to each in turn, in interleaved rounds, with and without an outbound
// fetch (to another Worker); the CPU of the workerd process is read per thread from /proc/…/schedstat.
// The harness-level `telemetry` benchmark measures the whole cost at once; this one says which part is
// the flag's and which the recorder's.
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { otlpRelay } from "../stacks.mjs";
import { Telemetry } from "../telemetry.mjs";
import { OTLP_BINDING } from "../otlp.mjs";
import { BATCH_DELAY_MS } from "../trace-context.js";

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

function worker(name, { flag = false, traced = false, relay = undefined } = {}) {
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
    ...(relay ? { serviceBindings: { [OTLP_BINDING]: relay } } : {}),
  };
}

const variants = [
  { name: "plain", label: "plain" },
  { name: "plain-again", label: "plain again (A/A)" },
  { name: "flag", label: "nodejs_als flag only" },
  { name: "traced", label: "traced (flag + recorder)" },
  { name: "exporting", label: "traced, exporting through the relay" },
];
// The OTLP endpoint the relay sends to: takes everything and counts the exports.
let exports = 0;
const receiver = http.createServer((request, response) => request.resume().on("end", () => (exports++, response.end("{}"))));
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const relay = otlpRelay(new Telemetry({ endpoint: `http://127.0.0.1:${receiver.address().port}` }), "bench", "exporting", "2026-07-01");
let records = 0;
const mf = new Miniflare({
  workers: [
    worker("plain"),
    worker("plain-again"),
    worker("flag", { flag: true }),
    worker("traced", { traced: true }),
    worker("exporting", { traced: true, relay: relay.name }),
    relay,
    { name: "other", modules: true, script: `export default { fetch() { return new Response("ok"); } };` },
  ],
  // The traced Workers' records and summaries (and nothing else) arrive here: counted and dropped, as the host would read them.
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
  // Longer than a batch of records waits, with time for its export: each round's records are its own.
  const settle = () => new Promise((resolve) => setTimeout(resolve, BATCH_DELAY_MS + 200));
  console.log(`recorder cost — one workerd, ${rounds} interleaved rounds of ${perRound} requests per variant; workerd CPU per request (µs)`);
  console.log("| path | " + variants.map((v) => v.label).join(" | ") + " |");
  console.log("|---|" + variants.map(() => "---|").join(""));
  for (const path of ["/", "/fetch"]) {
    const send = async (variant) => (await mf.dispatchFetch(`http://${variant.name}.bench${path}`)).arrayBuffer();
    for (let i = 0; i < WARM_UP; i++) for (const variant of variants) await send(variant);
    const spent = new Map(variants.map((v) => [v.name, 0]));
    for (let round = 0; round < rounds; round++) {
      for (const variant of round % 2 ? [...variants].reverse() : variants) {
        await settle();
        const before = cpuNs();
        for (let i = 0; i < perRound; i++) await send(variant);
        await settle();
        spent.set(variant.name, spent.get(variant.name) + cpuNs() - before);
      }
    }
    // Every traced request must have written its record (the exporting one, its summary), or the figures mean nothing.
    const tracedRequests = 2 * (WARM_UP + rounds * perRound) * (path === "/" ? 1 : 2);
    if (records < tracedRequests) throw new Error(`the traced Workers wrote ${records} records and summaries for ${tracedRequests} requests`);
    if (exports === 0) throw new Error("the exporting Worker's relay sent nothing to the receiver");
    const perRequest = variants.map((v) => spent.get(v.name) / (rounds * perRound) / 1000);
    console.log(`| ${path} | ` + perRequest.map((us, i) => (i === 0 ? us.toFixed(1) : `${us.toFixed(1)} (${us - perRequest[0] >= 0 ? "+" : ""}${(us - perRequest[0]).toFixed(1)})`)).join(" | ") + " |");
  }
  console.log(`the receiver took ${exports} exports`);
} finally {
  await mf.dispose();
  receiver.close();
}

/** A thread's run time (ns), or 0 for one that ended meanwhile. */
function threadNs(schedstat) {
  try {
    return Number(readFileSync(schedstat, "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}
