// The runtime host: one Node process that runs one Miniflare instance — and so one workerd
// process — per stack. The C# supervisor drives it over stdin/stdout with one JSON object per line.
//
//   stdin  (commands): {"id":1,"op":"start","stack":{...}}  {"id":2,"op":"stop","name":"account-1"}
//                      every operation, its request and its reply: protocol.mjs
//   stdout (replies and events): lines prefixed with "@@host " carry JSON; any other stdout line is
//   a plain log line of the host itself. The first event, host-ready, names the protocol version.
//
// When stdin closes (the supervisor stopped or died) every stack is disposed and the host exits, so
// no workerd outlives the harness.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import path from "node:path";
import { StackRegistry, childPids } from "./stacks.mjs";
import { WorkerBundler } from "./bundler.mjs";
import { watchWorkers } from "./watch.mjs";
import { useOwnTempFolder } from "./temp-folder.mjs";
import { PROTOCOL_VERSION, commandProblem, replyProblem } from "./protocol.mjs";
import { Telemetry } from "./telemetry.mjs";

const { values: args } = parseArgs({
  options: {
    "workers-dir": { type: "string" },
    "hot-reload": { type: "boolean", default: false },
    "workers-subdomain": { type: "string", default: "emulator" },
  },
});
const workersDir = path.resolve(args["workers-dir"] ?? "");
// Miniflare and esbuild are the Workers' own pinned npm dependencies: resolve them from there.
const requireFromWorkers = createRequire(path.join(workersDir, "package.json"));

let parentGone = false;
// Log lines — one for every request any stack serves — go out in batches: a write to the
// supervisor's pipe per line cost this shared process CPU on every request (ADR 0023). Anything
// else goes at once, after the lines logged before it.
const LOG_BATCH_MS = 20;
let pendingLogs = "";
let logFlush;
export function emit(message) {
  if (parentGone) return;
  const line = "@@host " + JSON.stringify(message) + "\n";
  if (message.event === "log") {
    pendingLogs += line;
    logFlush ??= setTimeout(flushLogs, LOG_BATCH_MS);
    return;
  }
  flushLogs();
  process.stdout.write(line);
}

function flushLogs() {
  clearTimeout(logFlush);
  logFlush = undefined;
  if (pendingLogs === "" || parentGone) return;
  const lines = pendingLogs;
  pendingLogs = "";
  process.stdout.write(lines);
}

// Miniflare hands the CA certificates named here to every workerd it starts (config to encode and
// parse per stack, ADR 0019), for TLS from workerd itself; a stack's fetches leave through this
// process instead (the egress guard), whose own trust store Node read at start-up.
delete process.env.NODE_EXTRA_CA_CERTS;
const removeTempFolder = useOwnTempFolder();
const bundler = new WorkerBundler(workersDir, requireFromWorkers("esbuild"));
// Telemetry (ADR 0036): on when the supervisor gives an OTLP endpoint (the dashboard's), as OpenTelemetry SDKs are configured.
let stacks;
const telemetry = Telemetry.fromEnvironment(process.env, {
  processOf: (name) => stacks?.pidOf(name),
  say: (line) => parentGone || process.stdout.write(line + "\n"),
});
telemetry?.start();
stacks = new StackRegistry({
  miniflare: requireFromWorkers("miniflare"),
  bundler,
  workersDir,
  emit,
  workersSubdomain: args["workers-subdomain"],
  telemetry,
});

// One handler per operation of protocol.mjs; each receives its request already checked.
const handlers = {
  start: (msg) => stacks.start(msg.stack),
  redeploy: (msg) => stacks.redeploy(msg.stack),
  stop: (msg) => stacks.stop(msg.name),
  bundle: (msg) => stacks.bundle(msg.worker),
  bindings: (msg) => stacks.liveBindings(msg.name),
  "egress-policy": (msg) => stacks.setEgressPolicy(msg.policy),
  egress: (msg) => stacks.egressLog(msg.name),
  "publish-release": (msg) => stacks.publishRelease(msg.name, msg.binding, msg.worker),
  "add-replica-databases": (msg) => stacks.addReplicaDatabases(msg.name),
  partition: (msg) => stacks.setPartitioned(msg.name, msg.partitioned),
  "telemetry-recording": (msg) => stacks.setTelemetryRecording(msg.name, msg.recording),
  "hop-faults": (msg) => stacks.guard.setHopFaults(msg.rules),
};

async function handle(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    emit({ event: "host-error", message: `unreadable command: ${line.slice(0, 200)}` });
    return;
  }
  // A malformed command is refused with the operation and field named; every stack serves on.
  const problem = commandProblem(msg);
  if (problem) {
    emit({ id: Number.isInteger(msg?.id) ? msg.id : null, ok: false, error: problem });
    return;
  }
  try {
    const result = await handlers[msg.op](msg);
    const wrong = replyProblem(msg.op, result);
    emit(wrong ? { id: msg.id, ok: false, error: `the host's reply broke the protocol: ${wrong}` } : { id: msg.id, ok: true, result });
  } catch (error) {
    emit({ id: msg.id, ok: false, error: `${msg.op}: ${error?.message ?? String(error)}` });
  }
}

const DISPOSE_GRACE_MS = 5000;
let shuttingDown = false;
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  // A stack caught mid-start can keep Miniflare's dispose waiting forever: give it a grace period,
  // then kill whatever children remain, so nothing outlives the host.
  await Promise.race([stacks.disposeAll(), new Promise((resolve) => setTimeout(resolve, DISPOSE_GRACE_MS))]);
  // What the stacks sent last goes out (within the export timeout) before the host exits.
  await telemetry?.close();
  for (const pid of childPids(process.pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  removeTempFolder();
  flushLogs();
  process.exit(code);
}

createInterface({ input: process.stdin }).on("line", (line) => void handle(line));
// Either pipe closing means the supervisor is gone (stopped, or killed): shut down with it.
// Writing to a closed stdout raises EPIPE; reporting that on stdout again would loop forever.
function parentDied() {
  parentGone = true;
  void shutdown(0);
}
process.stdin.on("end", parentDied);
process.stdout.on("error", parentDied);
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));
process.on("uncaughtException", (error) => {
  if (error?.code === "EPIPE") return parentDied();
  emit({ event: "host-error", message: error?.stack ?? String(error) });
});

if (args["hot-reload"]) {
  watchWorkers(workersDir, (worker) => {
    stacks.reloadWorker(worker).catch((error) =>
      emit({ event: "host-error", message: `reload of ${worker} failed: ${error.message}` }),
    );
  });
}

emit({ event: "host-ready", pid: process.pid, node: process.version, protocol: PROTOCOL_VERSION });
