// One Miniflare instance per stack, each with its own workerd process and its own persist root.
// Instances never share a persist root (20 on one root crash with SQLITE_BUSY) and never share a
// process, so starting, reloading or losing one stack leaves every other stack serving.
import { readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { applyMigrations } from "./migrations.mjs";
import { D1Client, controlJson, newControlSecret } from "./control-client.mjs";
import { RuntimePool } from "./runtime-pool.mjs";
import { EgressGuard } from "./egress-guard.mjs";
import { EgressLog } from "./egress-log.mjs";
import { OTLP_BINDING, stackResource } from "./otlp.mjs";
import { RecordingPush } from "./recording-push.mjs";

// The control entrypoint shares each stack's Worker (see control-entrypoint.js for why).
const CONTROL_ENTRYPOINT = "__emulatorControl";
const CONTROL_MODULE = "__emulator-control.js";
const CONTROL_SECRET_MODULE = "__emulator-control-secret.js";
const CONTROL_SCRIPT = readFileSync(fileURLToPath(new URL("./control-entrypoint.js", import.meta.url)), "utf8");
const CONTROL_STORAGE_SCRIPT = readFileSync(fileURLToPath(new URL("./control-storage.js", import.meta.url)), "utf8");
const SQL_STATEMENTS_SCRIPT = readFileSync(fileURLToPath(new URL("./sql-statements.mjs", import.meta.url)), "utf8");
const FAULT_RULES_SCRIPT = readFileSync(fileURLToPath(new URL("./fault-rules.mjs", import.meta.url)), "utf8");
const WORKER_FAULTS_SCRIPT = readFileSync(fileURLToPath(new URL("./worker-faults.js", import.meta.url)), "utf8");
const INVOCATION_METER_SCRIPT = readFileSync(fileURLToPath(new URL("./invocation-meter.js", import.meta.url)), "utf8");
// With telemetry on (ADR 0036): each invocation recorded, with its trace context (trace-context.js).
const TRACE_CONTEXT_SCRIPT = inlinedScript("./trace-context.js", [
  ["./trace-ids.mjs", "./trace-ids.mjs"],
  ["./otlp.mjs", "./otlp.mjs"],
]);
const TELEMETRY_FLAGS = ["nodejs_als"];
/** How long the recording switch waits for a stack's isolate (a paused stack never answers). */
const RECORDING_PUSH_TIMEOUT_MS = 5000;
// A traced stack's OTLP relay (otlp-relay.js): its Worker's spans and logs go through it to the endpoint.
const OTLP_RELAY = "emulator-otlp-relay";
const OTLP_RELAY_SCRIPT = inlinedScript("./otlp-relay.js", [
  ["./otlp.mjs", "./otlp.mjs"],
  ["./json-shape.mjs", "./json-shape.mjs"],
]);
// Every D1 binding is the emulator's replicated D1 (d1-replication.js) around the real database.
const D1_WORKER = "emulator-d1";
const D1_SCRIPT = inlinedScript("./d1-replication.js", [
  ["./d1-bookmarks.js", "./d1-bookmarks.mjs"],
  ["./fault-rules.js", "./fault-rules.mjs"],
]);
// Every R2 and KV binding is the real one behind the emulator's fault rules (storage-bindings.js).
const STORAGE_WORKER = "emulator-storage";
const STORAGE_SCRIPT = inlinedScript("./storage-bindings.js", [["./fault-rules.js", "./fault-rules.mjs"]]);
/**
 * Read replicas per database — one per EU region (WEUR, EEUR), as D1 keeps one replica per region.
 * Their databases are bound only once replication is first turned on for the stack (each costs
 * memory and start-up time, ADR 0017); how many are in use is set at run time (0 = replication off).
 */
export const MAX_REPLICAS = 2;
const REPLICA_SLOTS_FILE = "d1-replica-slots.json";

const RECENT_LINES = 40;
// request.cf of a local request that does not say otherwise (with an MF-CF-Blob header): a user in
// London, the population this SaaS serves. Fetching the real cf object would leave the machine.
const LOCAL_CF = {
  country: "GB",
  continent: "EU",
  isEUCountry: "0",
  city: "London",
  region: "England",
  regionCode: "ENG",
  timezone: "Europe/London",
  colo: "LHR",
  asn: 5607,
  asOrganization: "Local development",
  clientAcceptEncoding: "gzip, deflate, br",
  tlsVersion: "TLSv1.3",
  httpProtocol: "HTTP/1.1",
};
const RELOAD_WAIT_MS = 5000;
const DRAIN_WAIT_MS = 2000;
const CRASH_POLL_MS = 400;

export class StackRegistry {
  /** @type {Map<string, Stack>} */
  #stacks = new Map();

  constructor({ miniflare, bundler, workersDir, emit, workersSubdomain, telemetry = undefined }) {
    /** Every stack's metrics and the endpoint its relay sends to (telemetry.mjs); undefined: telemetry off. */
    this.telemetry = telemetry;
    /** Stacks cut off from the others (the chaos API's partition): by name, so a restart keeps it. */
    this.partitioned = new Set();
    /** Traced stacks whose invocations are not recorded for now (setTelemetryRecording): by name, so a restart keeps it. */
    this.unrecorded = new Set();
    this.guard = new EgressGuard({
      mf: miniflare,
      workersSubdomain,
      findStack: (name) => this.#stacks.get(name),
      isPartitioned: (name) => this.partitioned.has(name),
    });
    this.runtimes = new RuntimePool();
    this.mf = miniflare;
    this.bundler = bundler;
    this.workersDir = workersDir;
    this.emit = emit;
    setInterval(() => this.#detectCrashes(), CRASH_POLL_MS).unref();
  }

  async start(spec) {
    const existing = this.#stacks.get(spec.name);
    if (existing && existing.state !== "failed" && existing.state !== "stopped") {
      throw new Error(`stack '${spec.name}' is already ${existing.state}`);
    }
    if (existing) await existing.dispose();
    // A stack started anew (after a stop or a crash, or a new tenant under a reused name) counts again.
    this.telemetry?.forget(spec.name);
    const stack = new Stack(spec, this);
    this.#stacks.set(spec.name, stack);
    return stack.start();
  }

  /**
   * Deploys a new spec (code, bindings) to a stack. A running one is reconfigured in place, on its
   * port: requests from other Workers wait for it rather than fail, as a deploy at the edge loses
   * none. Any other is started.
   */
  async redeploy(spec) {
    const stack = this.#stacks.get(spec.name);
    return stack?.state === "running" ? stack.redeploy(spec) : this.start(spec);
  }

  async stop(name) {
    const stack = this.#get(name);
    await stack.dispose();
    stack.state = "stopped";
    return { name, state: stack.state };
  }

  async reloadWorker(worker) {
    this.bundler.invalidate(worker === "*" ? undefined : worker);
    const affected = [...this.#stacks.values()].filter(
      (s) => s.state === "running" && s.spec.script === undefined && (worker === "*" || s.spec.worker === worker),
    );
    await Promise.all(affected.map((s) => s.reload()));
    // Stacks running uploaded code (provisioned accounts) are rolled out by the supervisor instead.
    this.emit({ event: "source-changed", worker });
  }

  /** The current bundle of a repository Worker (for rolling it out to provisioned scripts). */
  async bundle(worker) {
    const { script, compatibilityDate, compatibilityFlags } = await this.bundler.bundle(worker);
    return { script, compatibilityDate, compatibilityFlags };
  }

  /** The binding names the stack's Worker really has, read from the running runtime (not from intent). */
  async liveBindings(name) {
    const stack = await this.#serving(name);
    if (!stack.instance || stack.state !== "running") throw new Error(`stack '${name}' is ${stack.state}`);
    const env = await stack.instance.getBindings(name);
    return { bindings: Object.keys(env).sort() };
  }

  /**
   * Binds the replica databases of a stack's D1 bindings (once; at once when they are there), so the
   * supervisor can turn read replication on through the control entrypoint.
   */
  async addReplicaDatabases(name) {
    const stack = await this.#serving(name);
    await stack.addReplicaDatabases();
    return { name, replicaSlots: stack.replicaSlots };
  }

  /**
   * Publishes a repository Worker as a release into a stack's R2 binding: <worker>/current.mjs and
   * <worker>/migrations/<file>.sql — what a deploy pipeline would upload for the platform to roll out.
   */
  async publishRelease(name, binding, worker) {
    const stack = await this.#serving(name);
    stack.control("/");
    const bundle = await this.bundler.bundle(worker);
    const files = [
      [`${worker}/current.mjs`, bundle.script],
      [`${worker}/release.json`, JSON.stringify({ compatibilityDate: bundle.compatibilityDate, compatibilityFlags: bundle.compatibilityFlags })],
    ];
    if (bundle.migrationsDir && existsSync(bundle.migrationsDir)) {
      for (const file of readdirSync(bundle.migrationsDir).filter((f) => f.endsWith(".sql")).sort()) {
        files.push([`${worker}/migrations/${file}`, readFileSync(path.join(bundle.migrationsDir, file), "utf8")]);
      }
    }
    for (const [key, body] of files) {
      await controlJson(stack.control(`/r2/${binding}/objects/${encodeURIComponent(key)}`), `publishing ${key}`, { method: "PUT", body, secret: stack.controlSecret });
    }
    return { keys: files.map(([key]) => key) };
  }

  /** Cuts (or heals) every other stack's route to this one: their fetches to it fail as a lost connection. */
  setPartitioned(name, partitioned) {
    this.#get(name);
    if (partitioned) this.partitioned.add(name);
    else this.partitioned.delete(name);
    return { name, partitioned };
  }

  /**
   * Starts or stops recording a traced stack's invocations (spans, logs and the summaries its metrics
   * come from), at once in its running isolate and in every start after. Refused with telemetry off.
   */
  async setTelemetryRecording(name, recording) {
    if (this.telemetry === undefined) throw new Error("telemetry is off in this harness: nothing is recorded");
    const stack = this.#get(name);
    if (recording) this.unrecorded.delete(name);
    else this.unrecorded.add(name);
    // A stack not running takes it when it starts; a running one that does not answer now is told
    // again when it next starts, and its log says so.
    if (stack.state === "running") await stack.syncRecordingOrSay(true);
    return { name, recording };
  }

  /** The egress guard's policy (egress-guard.mjs). */
  setEgressPolicy(policy) {
    return this.guard.setPolicy(policy);
  }

  /** What each stack's Worker tried to reach, allowed or not (the newest entries per stack). */
  egressLog(name) {
    const stacks = name ? [this.#get(name)] : [...this.#stacks.values()];
    return { stacks: Object.fromEntries(stacks.map((s) => [s.name, s.egress.entries])) };
  }

  async disposeAll() {
    this.runtimes.close();
    await Promise.allSettled([...this.#stacks.values()].map((s) => s.dispose()));
  }

  /** The workerd process of a running stack (for its CPU time). */
  pidOf(name) {
    return this.#stacks.get(name)?.pid;
  }

  /** The stack, once it is no longer reloading: the emulator's own calls wait a reload out, as requests do. */
  async #serving(name) {
    const stack = this.#get(name);
    await stack.settled();
    return stack;
  }

  #get(name) {
    const stack = this.#stacks.get(name);
    if (!stack) throw new Error(`no stack named '${name}'`);
    return stack;
  }

  #detectCrashes() {
    for (const stack of this.#stacks.values()) {
      if (stack.state === "running" && stack.pid && !isAlive(stack.pid)) void stack.crashed();
    }
  }
}

class Stack {
  state = "starting";
  pid = undefined;
  /** The workerd Miniflare spawned last for this stack (see unsafeSpawnRuntime). */
  spawnedPid = undefined;
  url = undefined;
  controlUrl = undefined;
  /** What calls to this stack's control entrypoint carry: one per Stack object (a start after a stop or failure makes a new one). */
  controlSecret = newControlSecret();
  /** What starts a line of this stack's stdout that is an invocation's summary or export status, not output (trace-context.js). */
  telemetryMarker = `@@telemetry-${newControlSecret()} `;
  recent = [];
  /** Requests from other Workers (through the egress guard) that this stack is answering. */
  inFlight = 0;
  /** @type {import("miniflare").Miniflare | undefined} */
  instance = undefined;

  constructor(spec, registry) {
    this.spec = { ...spec };
    this.registry = registry;
    this.egress = new EgressLog(spec.persistDir);
    this.replicaSlotsFile = path.join(spec.persistDir, REPLICA_SLOTS_FILE);
    this.replicaSlots = readReplicaSlots(this.replicaSlotsFile);
  }

  get name() {
    return this.spec.name;
  }

  /** A script uploaded through the control plane comes with its own code; a repository Worker is bundled. */
  async #code() {
    if (this.spec.script === undefined) return this.registry.bundler.bundle(this.spec.worker);
    return {
      script: this.spec.script,
      compatibilityDate: this.spec.compatibilityDate,
      compatibilityFlags: this.spec.compatibilityFlags ?? [],
      migrationsDir: undefined,
    };
  }

  async start() {
    const started = Date.now();
    const bundle = await this.#code();
    // A D1 folder that does not exist yet holds no database on which replication could be turned on.
    const d1Existed = existsSync(this.spec.persist?.d1 ?? path.join(this.spec.persistDir, "d1"));
    const { Miniflare } = this.registry.mf;
    this.instance = new Miniflare(this.#options(bundle));
    try {
      this.url = (await this.instance.ready).href.replace(/\/$/, "");
      // Keep the port across reloads and restarts so routing metadata stays valid.
      this.spec.port = Number(new URL(this.url).port);
      await this.#attach();
      const readyMs = Date.now() - started;
      const migrations = await this.#migrate(bundle);
      if (this.replicaSlots === 0 && d1Existed && (await this.#replicationConfigured())) await this.#reconfigure({ replicaSlots: MAX_REPLICAS });
      this.state = "running";
      await this.syncRecordingOrSay();
      return { ...this.describe(), migrations, readyMs, startMs: Date.now() - started };
    } catch (error) {
      throw await this.#startFailed(error);
    }
  }

  async redeploy(spec) {
    const started = Date.now();
    this.state = "reloading";
    this.spec = { ...spec, port: this.spec.port };
    try {
      const migrations = await this.#reconfigure();
      this.state = "running";
      await this.syncRecordingOrSay();
      const readyMs = Date.now() - started;
      return { ...this.describe(), migrations, readyMs, startMs: readyMs };
    } catch (error) {
      throw await this.#startFailed(error);
    }
  }

  /** Whatever failed (workerd, a migration), the stack is stopped and failed, so a start retries it. */
  async #startFailed(error) {
    await this.dispose();
    this.state = "failed";
    return new Error(`stack '${this.name}' failed to start: ${error.message}`);
  }

  /** After Miniflare (re)started workerd: where its control entrypoint listens, and which process it is. */
  async #attach() {
    this.controlUrl = await this.instance.unsafeGetDirectURL(this.name, CONTROL_ENTRYPOINT);
    this.pid = this.spawnedPid;
    // Before the reply or event that says the stack runs: the supervisor's data calls go there.
    this.registry.emit({ event: "control", name: this.name, url: this.controlUrl.href, secret: this.controlSecret });
  }

  /** Hot reload: the Worker's new code, keeping its data. */
  async reload() {
    this.state = "reloading";
    this.registry.emit({ event: "reloading", name: this.name, reason: "reloading after a change under workers/" });
    try {
      const migrations = await this.#reconfigure();
      this.state = "running";
      await this.syncRecordingOrSay();
      this.registry.emit({ event: "reloaded", name: this.name, pid: this.pid, migrations, reason: "reloaded after a change under workers/" });
    } catch (error) {
      // A broken edit keeps the last good code serving; the error goes to the stack's log.
      this.#log("error", `reload failed: ${error.message}`);
      this.#reloadFailed(`reload failed: ${error.message}; the last good code serves on`);
    }
  }

  /** After a reload that failed: the supervisor hears the stack serves on (or, with no workerd left, that it is down). */
  #reloadFailed(reason) {
    if (this.instance) {
      this.state = "running";
      this.registry.emit({ event: "reloaded", name: this.name, pid: this.pid, reason });
    } else {
      this.state = "failed";
      this.registry.emit({ event: "exited", name: this.name, pid: this.pid, recent: [...this.recent] });
    }
  }

  /**
   * Binds the replica databases of the stack's D1 bindings, the first time replication is turned on:
   * Miniflare restarts the stack's workerd (this stack only, ADR 0017) on the same port.
   */
  async addReplicaDatabases() {
    if (this.replicaSlots >= MAX_REPLICAS && !this.addingReplicas) return;
    if (this.state !== "running" && !this.addingReplicas) throw new Error(`stack '${this.name}' is ${this.state}`);
    // Two settings changes at once share one restart.
    this.addingReplicas ??= (async () => {
      this.state = "reloading";
      this.registry.emit({ event: "reloading", name: this.name, reason: "read replicas turned on: restarting with their D1 databases" });
      try {
        await this.#reconfigure({ replicaSlots: MAX_REPLICAS });
      } catch (error) {
        this.#reloadFailed(`adding the replica databases failed: ${error.message}`);
        throw error;
      } finally {
        this.addingReplicas = undefined;
      }
      this.state = "running";
      await this.syncRecordingOrSay();
      this.registry.emit({ event: "reloaded", name: this.name, pid: this.pid, reason: "read replicas turned on: their D1 databases were added" });
    })();
    return this.addingReplicas;
  }

  /**
   * Applies the stack's options (with the given changes) to its workerd: Miniflare restarts the
   * process. Requests other Workers already sent it finish first; new ones wait (see settled()).
   */
  async #reconfigure({ replicaSlots } = {}) {
    await waitWhile(() => this.inFlight > 0, DRAIN_WAIT_MS);
    if (replicaSlots !== undefined) {
      this.replicaSlots = replicaSlots;
      writeFileSync(this.replicaSlotsFile, JSON.stringify({ replicaSlots }) + "\n");
    }
    const bundle = await this.#code();
    await this.instance.setOptions(this.#options(bundle));
    await this.instance.ready;
    await this.#attach();
    return this.#migrate(bundle);
  }

  /** Whether a D1 database of the stack had replicas turned on (in an earlier run, or under another script). */
  async #replicationConfigured() {
    for (const binding of Object.keys(this.spec.d1 ?? {})) {
      const { results } = await new D1Client(this.controlUrl, binding, this.controlSecret).query("SELECT replicas FROM _emulator_d1_replication WHERE id = 1");
      if ((results[0]?.replicas ?? 0) > 0) return true;
    }
    return false;
  }

  /** Resolves once the stack is no longer reloading (at once if it is not), or after RELOAD_WAIT_MS. */
  settled() {
    return waitWhile(() => this.state === "reloading", RELOAD_WAIT_MS);
  }

  async crashed() {
    this.state = "failed";
    const pid = this.pid;
    // Miniflare would silently restart workerd; the harness reports the crash instead and leaves
    // the stack failed until someone restarts it, so a failure is visible, not papered over.
    await this.dispose();
    this.state = "failed";
    this.registry.emit({ event: "exited", name: this.name, pid, recent: [...this.recent] });
  }

  /** Tells the running isolate whether to record, as the registry now wants it (RecordingPush.sync). */
  syncRecordingOrSay(force = false) {
    return this.#recording.sync(force);
  }

  /** The recording switch's pushes to this stack's isolate. */
  #recording = new RecordingPush({
    wanted: () => !this.registry.unrecorded.has(this.name),
    send: async (recording) => (await controlJson(this.control("/telemetry"), "telemetry recording", { method: "PUT", json: { recording }, secret: this.controlSecret, timeoutMs: RECORDING_PUSH_TIMEOUT_MS })).recording,
    say: (recording, error) => this.#log("warn", `telemetry: the isolate was not told to ${recording ? "record" : "stop recording"} (${error.message}); it will be when the stack next starts`),
  });

  /** A URL on the stack's control entrypoint, which only answers while the stack runs. */
  control(pathname) {
    if (!this.controlUrl || this.state !== "running") throw new Error(`stack '${this.name}' is ${this.state}`);
    return new URL(pathname, this.controlUrl);
  }

  async dispose() {
    const instance = this.instance;
    this.instance = undefined;
    this.pid = undefined;
    // A stopped or crashed isolate's word on its exports no longer holds.
    this.registry.telemetry?.stopped(this.name);
    if (instance) await instance.dispose().catch(() => {});
  }

  describe() {
    return { name: this.name, worker: this.spec.worker, state: this.state, url: this.url, pid: this.pid };
  }

  async #migrate(bundle) {
    const binding = Object.keys(this.spec.d1 ?? {})[0];
    if (!binding || !bundle.migrationsDir || !existsSync(bundle.migrationsDir)) return [];
    const applied = await applyMigrations(new D1Client(this.controlUrl, binding, this.controlSecret), bundle.migrationsDir);
    for (const name of applied) this.#log("info", `applied migration ${name} to ${binding}`);
    return applied;
  }

  #options(bundle) {
    const telemetry = this.registry.telemetry;
    const traced = telemetry !== undefined;
    const { bindings: d1Bindings, worker: d1Worker } = replicatedD1(this.spec.d1 ?? {}, this.replicaSlots);
    this.#recording.reset(traced ? !this.registry.unrecorded.has(this.name) : undefined);
    const tracing = traced ? { marker: this.telemetryMarker, stack: this.name, tenant: this.spec.vars?.ACCOUNT_ID, recording: this.#recording.known } : undefined;
    const { bindings: storageBindings, worker: storageWorker } = faultedStorage(this.spec.r2 ?? {}, this.spec.kv ?? {}, this.spec.r2Credentials ?? {});
    return {
      workers: [
        {
          // The stack's own Worker comes first: it receives every request to the stack's URL.
          name: this.name,
          modules: withControlEntrypoint(`${this.spec.worker}.js`, bundle.script, this.controlSecret, tracing),
          compatibilityDate: bundle.compatibilityDate,
          compatibilityFlags: traced ? [...new Set([...(bundle.compatibilityFlags ?? []), ...TELEMETRY_FLAGS])] : bundle.compatibilityFlags,
          wrappedBindings: { ...d1Bindings, ...storageBindings },
          bindings: this.spec.vars ?? {},
          outboundService: (request) => this.registry.guard.outbound(this, request),
          // A traced isolate exports its spans and logs itself, through its relay (trace-context.js).
          ...(traced ? { serviceBindings: { [OTLP_BINDING]: OTLP_RELAY } } : {}),
          // Stacks are reached on workers.dev, where the Cache API does nothing: Miniflare's no-op
          // cache is that behaviour, without the cache's storage worker (one isolate fewer).
          cache: false,
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0, entrypoint: CONTROL_ENTRYPOINT }],
        },
        ...(traced ? [otlpRelay(telemetry, this.spec.resource ?? this.name, this.name, bundle.compatibilityDate)] : []),
        ...(d1Worker ? [d1Worker] : []),
        ...(storageWorker ? [storageWorker] : []),
      ],
      defaultPersistRoot: this.spec.persistDir,
      // Resources created through the control plane keep their data in folders of their own, so a
      // database outlives (and can move between) the scripts bound to it.
      d1Persist: this.spec.persist?.d1,
      r2Persist: this.spec.persist?.r2,
      kvPersist: this.spec.persist?.kv,
      host: "127.0.0.1",
      port: this.spec.port ?? 0,
      cf: LOCAL_CF,
      unsafeProxySharedSecret: this.registry.guard.forwardingSecret,
      log: new (stackLogClass(this.registry.mf))(this),
      handleRuntimeStdio: (stdout, stderr) => {
        this.#pipe(stdout, "info");
        this.#pipe(stderr, "error");
      },
      // The PID is taken when a start or reconfigure is ready, not on every spawn: Miniflare silently
      // respawns a workerd that died, and the host is to report that crash, not follow it.
      unsafeSpawnRuntime: (command, args, options) => {
        const child = this.registry.runtimes.spawn(command, args, options);
        this.spawnedPid = child.pid;
        return child;
      },
    };
  }

  #pipe(stream, level) {
    const marker = this.telemetryMarker;
    createInterface({ input: stream }).on("line", (line) => {
      // An invocation's summary or an export status (trace-context.js) goes to telemetry, never to the stack's log.
      if (line.startsWith(marker)) this.registry.telemetry?.recordLine(this.name, this.spec.resource ?? this.name, line.slice(marker.length));
      else this.#log(level, line);
    });
  }

  #log(level, line) {
    this.recent.push(line);
    if (this.recent.length > RECENT_LINES) this.recent.shift();
    this.registry.emit({ event: "log", name: this.name, level, line });
  }

  logFromMiniflare(level, line) {
    this.#log(level, line);
  }

  /** Kept in memory and in the stack's folder (egress-log.mjs), so the residency report still sees it after a restart. */
  recordEgress(entry) {
    try {
      this.egress.record(entry);
    } catch (error) {
      this.#log("error", `could not record egress: ${error.message}`);
    }
  }
}

/**
 * The stack's D1 bindings as wrapped bindings of the replication module, and the worker that holds
 * the real databases: each primary plus its replica databases, when the stack has them (Miniflare
 * creates a database's file on first use).
 */
export function replicatedD1(databases, replicaSlots) {
  const entries = Object.entries(databases);
  if (entries.length === 0) return { bindings: {}, worker: undefined };
  const bindings = {};
  const d1Databases = {};
  for (const [binding, id] of entries) {
    bindings[binding] = { scriptName: D1_WORKER, bindings: { databaseId: id, primaryBinding: binding, maxReplicas: MAX_REPLICAS, replicaSlots } };
    d1Databases[binding] = id;
    for (let i = 0; i < replicaSlots; i++) d1Databases[`${binding}__replica_${i}`] = `${id}-replica-${i}`;
  }
  // A wrapped binding's module takes the compatibility date of the Worker that uses it.
  return { bindings, worker: { name: D1_WORKER, modules: [esModule("d1-replication.js", D1_SCRIPT)], d1Databases } };
}

/** A traced stack's OTLP relay: the endpoint (with its headers) and the stack's resource, outside the Worker's isolate. */
export function otlpRelay(telemetry, resource, stack, compatibilityDate) {
  return {
    name: OTLP_RELAY,
    modules: [esModule("otlp-relay.js", OTLP_RELAY_SCRIPT)],
    compatibilityDate,
    bindings: { EXPORT_URL: telemetry.endpoint, RESOURCE: JSON.stringify(stackResource(resource, stack)) },
    serviceBindings: { ENDPOINT: telemetry.endpointService() },
  };
}

/**
 * The stack's R2 and KV bindings as wrapped bindings of storage-bindings.js (each named by
 * `__binding`), and the worker that holds the real buckets and namespaces under the same names.
 * A bucket with S3 credentials is also served by Miniflare's local S3 endpoint (/cdn-cgi/local/r2/s3).
 */
export function faultedStorage(buckets, namespaces, r2Credentials = {}) {
  const bindings = {};
  const r2Buckets = {};
  for (const [binding, bucket] of Object.entries(buckets)) {
    bindings[binding] = { scriptName: STORAGE_WORKER, entrypoint: "r2", bindings: { __binding: binding } };
    const credentials = r2Credentials[bucket];
    r2Buckets[binding] = credentials ? { id: bucket, s3Credentials: credentials } : bucket;
  }
  for (const binding of Object.keys(namespaces)) {
    bindings[binding] = { scriptName: STORAGE_WORKER, entrypoint: "kv", bindings: { __binding: binding } };
  }
  if (Object.keys(bindings).length === 0) return { bindings, worker: undefined };
  return { bindings, worker: { name: STORAGE_WORKER, modules: [esModule("storage-bindings.js", STORAGE_SCRIPT)], r2Buckets, kvNamespaces: namespaces } };
}

/**
 * The stack Worker's modules: its own module, unchanged, under an entry module that re-exports
 * everything it exports, puts its fetch handler behind the chaos API's "worker" rules
 * (worker-faults.js), and adds the emulator's control entrypoint. Modules are listed rather than
 * handed over as one script, which Miniflare would parse again on every start (ADR 0016).
 */
function withControlEntrypoint(moduleName, script, controlSecret, tracing = undefined) {
  const hasDefault = /export\s+default\b|export\s*\{[^}]*\bdefault\b[^}]*\}/.test(script);
  const entry = [
    // First: the recorder takes console and fetch before any of the Worker's code runs.
    tracing ? `import "./__emulator-trace-install.js";` : "",
    `export * from "./${moduleName}";`,
    hasDefault ? `import worker from "./${moduleName}";` : "",
    hasDefault ? `import { faultedWorker } from "./__emulator-worker-faults.js";` : "",
    hasDefault && tracing ? `import { tracedWorker } from "./__emulator-trace-context.js";` : "",
    hasDefault ? `export default ${tracing ? `tracedWorker(faultedWorker(worker), ${JSON.stringify(tracing)})` : "faultedWorker(worker)"};` : "",
    `export { emulatorControl as ${CONTROL_ENTRYPOINT} } from "./${CONTROL_MODULE}";`,
  ].join("\n");
  return [
    esModule("__emulator-entry.js", entry),
    esModule(moduleName, script),
    esModule(CONTROL_MODULE, CONTROL_SCRIPT),
    esModule("__emulator-sql-statements.js", SQL_STATEMENTS_SCRIPT),
    esModule("__emulator-control-storage.js", CONTROL_STORAGE_SCRIPT),
    esModule("__emulator-fault-rules.js", FAULT_RULES_SCRIPT),
    esModule("__emulator-worker-faults.js", WORKER_FAULTS_SCRIPT),
    esModule("__emulator-invocation-meter.js", INVOCATION_METER_SCRIPT),
    esModule(CONTROL_SECRET_MODULE, `export const CONTROL_SECRET = ${JSON.stringify(controlSecret)};`),
    ...(tracing
      ? [
          esModule("__emulator-trace-context.js", TRACE_CONTEXT_SCRIPT),
          esModule("__emulator-trace-install.js", `import { installTracing } from "./__emulator-trace-context.js";\ninstallTracing();`),
        ]
      : []),
  ];
}

/**
 * One module of `main` with the modules it imports (each [specifier, file beside this one]) written in
 * ahead of it: a wrapped binding's script, which Miniflare takes only as one module, and the files the
 * harness adds to a Worker, which import each other on disk (where the node tests run them).
 */
function inlinedScript(main, imports) {
  const read = (name) => readFileSync(fileURLToPath(new URL(name, import.meta.url)), "utf8");
  let code = read(main);
  const inlined = [];
  for (const [specifier, file] of imports) {
    const importLine = new RegExp(`^import \\{[^}]*\\} from "${specifier.replace(/[.]/g, "\\.")}";$`, "m");
    if (!importLine.test(code)) throw new Error(`${main} no longer imports ${specifier} as one line`);
    code = code.replace(importLine, "");
    inlined.push(read(file).replace(/^export /gm, ""));
  }
  return `${inlined.join("\n")}\n${code}`;
}

function esModule(name, contents) {
  return { type: "ESModule", path: name, contents };
}

let StackLog;
function stackLogClass({ Log, LogLevel }) {
  StackLog ??= class extends Log {
    constructor(stack) {
      super(LogLevel.INFO);
      this.stack = stack;
    }
    log(message) {
      // Miniflare colours its lines; the dashboard wants plain text.
      this.stack.logFromMiniflare("info", message.replace(/\x1b\[[0-9;]*m/g, ""));
    }
  };
  return StackLog;
}

/** How many replica databases the stack's D1 bindings have had (0 until replication is first turned on). */
function readReplicaSlots(file) {
  try {
    const { replicaSlots } = JSON.parse(readFileSync(file, "utf8"));
    return Number.isInteger(replicaSlots) ? Math.min(Math.max(replicaSlots, 0), MAX_REPLICAS) : 0;
  } catch {
    return 0;
  }
}

/** Waits while `condition` holds, for at most `ms`. */
async function waitWhile(condition, ms) {
  for (const deadline = Date.now() + ms; condition() && Date.now() < deadline; ) await sleep(10);
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function childPids(pid) {
  const pids = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const file = path.join(`/proc/${pid}/task`, tid, "children");
    try {
      pids.push(...readFileSync(file, "utf8").split(" ").filter(Boolean).map(Number));
    } catch {
      // Thread ended.
    }
  }
  return pids;
}
