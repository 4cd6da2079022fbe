// A stack Worker's telemetry, recorded around the Worker (ADR 0036): stacks.mjs adds this module to the
// entry module it already writes, so the Worker's own code is unchanged.
//
// Each fetch invocation has a record: its trace id (an incoming `traceparent`'s, or a new one), the span of
// the invocation, a span for every D1, R2 and KV call (recorded by the binding wrappers: d1-replication.js,
// invocation-meter.js) and outbound fetch, and its console output. The calls find their invocation's
// record as the current one (`current`): the one invocation running alone, or the AsyncLocalStorage (the
// `nodejs_als` flag) of one running beside it. Every outbound fetch carries a `traceparent` naming its
// span, so the Worker it calls (another stack, the local Cloudflare API) continues the same trace. When
// the invocation answers, its record is encoded (OTLP JSON: otlp.mjs) and waits for the isolate's next
// batch (RecordBatch): the batch's spans and log records go to the OTLP endpoint (IsolateExport, through
// the stack's relay: otlp-relay.js), and their summaries to the runtime host, a line
// each behind a marker only the host knows on the stack's stdout, for the stack's metrics
// (telemetry.mjs); the host never shows those lines.
//
// Why not workerd's streaming tail Worker, which gives the same spans from the runtime: delivering each
// invocation's events to it cost many times what recording them here does (ADR 0036; the telemetry
// benchmark measures this way).
//
// A record never holds a request's headers, body or query string, nor a D1 statement's bound values.
import { AsyncLocalStorage } from "node:async_hooks";
import { IdSource, incomingContext, traceparent } from "./trace-ids.mjs";
import { EXPORT_TIMEOUT_MS, OTLP_BINDING, attributes, encodeRecord, recordLine } from "./otlp.mjs";

const invocations = new AsyncLocalStorage();
/**
 * The invocation running without an AsyncLocalStorage context, if any: at most one an isolate at a time.
 * Running every invocation in AsyncLocalStorage measured costlier in workerd than this (every I/O it
 * awaits carries the context; ADR 0036), and a stack's requests mostly come one at a time. So an invocation that
 * starts while no other holds this place takes it, and one that starts beside it runs in its own context;
 * code with no context is the lone invocation's. The place is kept until the invocation answered and the
 * promises it handed to waitUntil settled, so that work is never taken for the next invocation's; work it
 * leaves running any other way (a promise not awaited, a body streamed by JavaScript, a timer) can be
 * (ADR 0036). A place held longer than MAX_ALONE_MS (a request workerd cancelled never reaches its
 * `finally`) is taken back.
 */
let alone;
/** When `alone` took the place. */
let aloneSince = 0;
const MAX_ALONE_MS = 60_000;

/** The lone invocation's record, if any (for tests: which way an invocation ran). */
export function loneRecord() {
  return alone;
}

/**
 * Whether invocations are recorded now: the harness can stop and start it on a running stack
 * (the control entrypoint's /telemetry) without a restart. Not recording, an invocation makes no
 * record, span, log or summary; the wrappers around fetch, console and the bindings pass its calls
 * straight through.
 */
let recording = true;

/** Invocations running now that are not recorded (the switch is off, or was when they came). */
let unrecordedRunning = 0;

/**
 * Runs an invocation that is not recorded: outside every invocation's context, so that beside a
 * recorded one running alone (the switch was just turned off) its calls are not taken for that one's.
 */
async function unrecorded(run) {
  unrecordedRunning += 1;
  try {
    return await (alone === undefined ? run() : recorder.outside(run));
  } finally {
    unrecordedRunning -= 1;
  }
}

/** The context of code that belongs to no invocation (the control entrypoint, other event handlers). */
const OUTSIDE = Symbol("outside any invocation");

/** The record of the invocation whose code is running now, if any. */
function current() {
  const store = invocations.getStore();
  return store === undefined ? alone : store === OUTSIDE ? undefined : store;
}
/** How the binding wrappers (d1-replication.js is a wrapped binding, with no imports) reach the recorder. */
const TRACING = Symbol.for("cloudflare-emulator.tracing");
const SPAN_KIND = { internal: 1, server: 2, client: 3 };
/** Spans and log records one invocation keeps, at most (a Worker logging in a loop costs no more). */
const MAX_ITEMS = 1000;
// Made on first use: workerd draws no random bytes at a module's top level.
let idSource;
const ids = () => (idSource ??= new IdSource());

/** One invocation's record: its spans and console output, until it answers. */
export class InvocationRecord {
  spans = [];
  logs = [];
  /** Once the record has been written, later calls (in waitUntil, say) are not recorded. */
  finished = false;
  /** What did not fit under MAX_ITEMS. */
  left = 0;

  /** `tags` (the stack and tenant, as OTLP attributes) go on every span and log record when the record is encoded (otlp.mjs). */
  constructor(request, tags = [], now = Date.now(), url = new URL(request.url)) {
    const incoming = incomingContext(request.headers.get("traceparent"));
    this.traceId = incoming?.traceId ?? ids().traceId();
    this.root = {
      traceId: this.traceId,
      spanId: ids().spanId(),
      parentSpanId: incoming?.parentId,
      name: `${request.method} ${url.pathname}`,
      kind: SPAN_KIND.server,
      start: now,
      end: undefined,
      attributes: { "faas.trigger": "http", "http.request.method": request.method, "url.path": url.pathname, "server.address": url.hostname },
      error: false,
    };
    this.tags = tags;
  }

  /**
   * Runs `call(span)` as a client span of the invocation (a binding call, a fetch): `span.spanId` is its
   * id, `span.attributes` (the `attributes` given, kept as they are: a new object each call) may be
   * added to until it settles. A call that throws or rejects marks the span
   * failed; one that answers at once (no promise) is no span.
   */
  span(name, attributes, call) {
    if (this.finished || this.spans.length >= MAX_ITEMS) {
      if (!this.finished) this.left += 1;
      return call({ spanId: ids().spanId(), attributes: {} });
    }
    const span = { traceId: this.traceId, spanId: ids().spanId(), parentSpanId: this.root.spanId, name, kind: SPAN_KIND.client, start: Date.now(), end: undefined, attributes: attributes ?? {}, error: false };
    const settle = (error) => {
      span.end = Date.now();
      if (error !== undefined) {
        span.error = true;
        span.message = String(error?.message ?? error);
      }
    };
    let result;
    try {
      result = call(span);
    } catch (error) {
      settle(error);
      this.spans.push(span);
      throw error;
    }
    // Not a call that waits on anything (R2's resumeMultipartUpload, say): no span.
    if (typeof result?.then !== "function") return result;
    this.spans.push(span);
    return result.then(
      (value) => (settle(), value),
      (error) => {
        settle(error);
        throw error;
      },
    );
  }

  log(level, args) {
    if (this.finished) return;
    if (this.logs.length >= MAX_ITEMS) {
      this.left += 1;
      return;
    }
    this.logs.push({ time: Date.now(), level: level === "log" ? "info" : level, message: format(args), traceId: this.traceId, spanId: this.root.spanId });
  }

  exception(error) {
    this.root.error = true;
    this.logs.push({
      time: Date.now(),
      level: "error",
      message: `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`,
      traceId: this.traceId,
      spanId: this.root.spanId,
      exception: { type: error?.name ?? "Error", message: error?.message ?? String(error), stacktrace: error?.stack },
    });
  }

  /**
   * The invocation answered (`status`) or threw: its spans, logs and a summary for the stack's metrics,
   * with the tags that encoding adds to each span and log record (encodeRecord).
   */
  finish(status, now = Date.now()) {
    this.finished = true;
    const root = this.root;
    root.end = now;
    if (this.left > 0) root.attributes["cloudflare.invocation.items_left_out"] = this.left;
    if (status !== undefined) root.attributes["http.response.status_code"] = status;
    if ((status ?? 0) >= 500) root.error = true;
    const summary = { durationMs: Math.max(0, now - root.start), status: status ?? 0, error: root.error, d1Queries: 0, d1RowsRead: 0, d1RowsWritten: 0, r2Operations: 0, kvOperations: 0 };
    for (const span of this.spans) {
      // Still running when the response went (a streamed body, waitUntil): ended here, and said so.
      if (span.end === undefined) {
        span.end = now;
        span.attributes["cloudflare.span.unfinished"] = true;
      }
      if (span.name.startsWith("d1_")) {
        summary.d1Queries += 1;
        summary.d1RowsRead += Number(span.attributes["cloudflare.d1.response.rows_read"] ?? 0);
        summary.d1RowsWritten += Number(span.attributes["cloudflare.d1.response.rows_written"] ?? 0);
      } else if (span.name.startsWith("r2_")) summary.r2Operations += 1;
      else if (span.name.startsWith("kv_")) summary.kvOperations += 1;
    }
    return { spans: [root, ...this.spans], logs: this.logs, summary, tags: this.tags };
  }
}

/**
 * How long an isolate's finished records wait for others before they are sent together, at most. Each
 * batch costs the isolate a console write and an export through the relay, whatever it holds, so the
 * wait sets much of what recording costs a request (ADR 0041); OpenTelemetry SDKs wait longer (5 s
 * for spans, 1 s for logs). The telemetry benchmark reads this value.
 */
export const BATCH_DELAY_MS = 2000;

/**
 * The finished records of an isolate's invocations, sent together: each console write and each export
 * costs the isolate far more than its bytes do (ADR 0036), so records wait up to `delayMs` — kept
 * alive by the waitUntil of the invocation that started the wait — or until `maxRecords` are waiting.
 * Their summaries go to the runtime host (one console write, a line each behind the marker), their
 * spans and log records to `exporter`; without one (the node tests) each record is written whole
 * instead (recordLine). An invocation without waitUntil sends its record at once.
 */
export class RecordBatch {
  #records = [];
  #waiting = false;
  /** Where spans and log records go (IsolateExport), once the isolate has its binding. */
  exporter = undefined;

  constructor(marker, print, { delayMs = BATCH_DELAY_MS, maxRecords = 256 } = {}) {
    this.marker = marker;
    this.print = print;
    this.delayMs = delayMs;
    this.maxRecords = maxRecords;
  }

  /** A finished invocation's record ({ spans, logs, summary, tags }: finish's), encoded now and sent with the batch. */
  add(record, ctx) {
    this.#records.push(encodeRecord(record));
    if (typeof ctx?.waitUntil !== "function") return void this.flush();
    if (this.#records.length >= this.maxRecords) return ctx.waitUntil(this.flush());
    if (this.#waiting) return;
    this.#waiting = true;
    ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, this.delayMs)).then(() => this.flush()));
  }

  /** Sends every waiting record; resolves once their export is done or given up. */
  flush() {
    this.#waiting = false;
    if (this.#records.length === 0) return Promise.resolve();
    const records = this.#records;
    this.#records = [];
    const exporter = this.exporter;
    this.print(this.marker + records.map((record) => (exporter ? record.summary : recordLine(record))).join("\n" + this.marker));
    return exporter ? exporter.send(records) : Promise.resolve();
  }
}

/** Records an isolate keeps waiting while an export is under way, at most (beyond: dropped, and said). */
const MAX_WAITING = 1024;

export class IsolateExport {
  /** The turn of exports under way, if any, and when its latest export started. */
  #sending = undefined;
  #since = 0;
  #waiting = [];
  #failing = false;
  #succeeded = false;
  #dropped = 0;

  /** `report(status)`: tells the runtime host. */
  constructor(binding, report) {
    this.binding = binding;
    this.report = report;
  }

  /**
   * Sends `records` (encodeRecord's) now, or once the export under way is done: the returned promise
   * (for the caller's waitUntil) settles when they have been sent or dropped.
   */
  send(records) {
    const room = Math.max(0, MAX_WAITING - this.#waiting.length);
    if (room < records.length) this.#drop(records.length - room, "the export queue is full");
    this.#waiting.push(...records.slice(0, room));
    // A turn that has outlasted any export (workerd cut its invocation short) is taken over.
    if (this.#sending === undefined || Date.now() - this.#since > 3 * EXPORT_TIMEOUT_MS) this.#sending = this.#drain();
    return this.#sending;
  }

  /** Exports what waits, batch after batch, until nothing does. */
  async #drain() {
    while (this.#waiting.length > 0) {
      const records = this.#waiting;
      this.#waiting = [];
      const pieces = (field) => records.filter((record) => record[field] !== "").map((record) => record[field]);
      const spans = pieces("spans");
      const logs = pieces("logs");
      const failure = (spans.length > 0 ? await this.#post("traces", spans) : undefined) ?? (logs.length > 0 ? await this.#post("logs", logs) : undefined);
      if (failure) {
        this.#drop(records.length, failure.reason, failure.signal);
      } else if (this.#failing || !this.#succeeded) {
        this.#failing = false;
        this.#succeeded = true;
        this.report({ export: "succeeded", dropped: this.#dropped });
        this.#dropped = 0;
      }
    }
    // Cleared with no await after the last look at #waiting: a send from now on starts a turn.
    this.#sending = undefined;
  }

  /** Undefined when sent; otherwise why not. */
  async #post(signal, pieces) {
    this.#since = Date.now();
    try {
      const response = await this.binding.fetch(`http://otlp-relay/v1/${signal}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `[${pieces.join(",")}]`,
        signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      return response.ok ? undefined : { signal, reason: `HTTP ${response.status}` };
    } catch (error) {
      return { signal, reason: reasonOf(error) };
    }
  }

  #drop(count, reason, signal = undefined) {
    this.#dropped += count;
    if (this.#failing) return;
    this.#failing = true;
    this.report({ export: "failed", signal, reason });
  }
}

/** Why an export failed, in a few words: a system error's code (Node's fetch keeps it as the cause), else the message. */
function reasonOf(error) {
  const code = error?.cause?.code ?? error?.code;
  return typeof code === "string" ? code : String(error?.message ?? error);
}

/**
 * The Worker's default export with each fetch invocation recorded (health probes are not). Records go
 * out in batches (RecordBatch): spans and log records through the isolate's OTLP binding (the stack's
 * relay), when its env has one; summaries through `print`, a line each behind `marker`, where the
 * runtime host reads them. The binding is the emulator's, so the fetch handler gets its env without
 * it; code that reaches it another way (`cloudflare:workers`' env, another event's handler) can send
 * the relay only items for its own stack's row.
 */
export function tracedWorker(worker, { marker, stack, tenant, recording: recordingAtStart = true }, print = originalLog, batching = undefined) {
  if (worker === null || typeof worker !== "object" || typeof worker.fetch !== "function") return worker;
  recording = recordingAtStart;
  const handler = worker.fetch;
  // Made once for all the stack's records: encoding adds them to each span and log record.
  const tags = attributes({ "cloudflare.script_name": stack, "tenant.id": tenant });
  const batch = new RecordBatch(marker, print, batching);
  const report = (status) => print(marker + JSON.stringify(status));
  // The env last seen and the same without the OTLP binding (workerd hands an isolate the same env each time).
  let seen;
  let workerEnv;
  const withoutBinding = (env) => {
    if (env === seen) return workerEnv;
    seen = env;
    if (env === null || typeof env !== "object" || !(OTLP_BINDING in env)) return (workerEnv = env);
    batch.exporter ??= new IsolateExport(env[OTLP_BINDING], report);
    const { [OTLP_BINDING]: _, ...rest } = env;
    return (workerEnv = rest);
  };
  const traced = Object.create(worker);
  // Other event handlers are not recorded, and their calls are never the lone invocation's.
  for (const event of OTHER_EVENTS) {
    if (typeof worker[event] === "function") traced[event] = (...args) => recorder.outside(() => worker[event](...args));
  }
  traced.fetch = async function (request, env, ctx) {
    env = withoutBinding(env);
    if (!recording) return unrecorded(() => handler.call(worker, request, env, ctx));
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return recorder.outside(() => handler.call(worker, request, env, ctx));
    const record = new InvocationRecord(request, tags, Date.now(), url);
    if (alone !== undefined && Date.now() - aloneSince > MAX_ALONE_MS) alone = undefined;
    // Beside an invocation that is not recorded (the switch was just turned), none runs alone: that
    // one's calls, which belong to no context, would be taken for it.
    const lone = alone === undefined && unrecordedRunning === 0 ? trackWaitUntil(ctx) : undefined;
    if (lone) {
      alone = record;
      aloneSince = Date.now();
    }
    let status;
    try {
      const response = await (lone ? handler.call(worker, request, env, ctx) : invocations.run(record, () => handler.call(worker, request, env, ctx)));
      status = response?.status;
      return response;
    } catch (error) {
      record.exception(error);
      throw error;
    } finally {
      batch.add(record.finish(status), lone ?? ctx);
      if (lone) lone.release(() => alone === record && (alone = undefined));
    }
  };
  return traced;
}

/**
 * An invocation's waitUntil promises, counted as they are handed over (`ctx.waitUntil` replaced on the
 * invocation's own context), and the waitUntil it had, for the recorder's own. Undefined when the
 * context has no waitUntil to follow: such an invocation never runs alone.
 */
function trackWaitUntil(ctx) {
  if (typeof ctx?.waitUntil !== "function") return undefined;
  const original = ctx.waitUntil;
  const pending = [];
  const counted = function (promise) {
    pending.push(Promise.resolve(promise).catch(() => {}));
    return original.call(ctx, promise);
  };
  try {
    ctx.waitUntil = counted;
  } catch {
    return undefined;
  }
  if (ctx.waitUntil !== counted) return undefined;
  return {
    waitUntil: (promise) => original.call(ctx, promise),
    /** Calls `done` once every promise handed over so far, and any handed over meanwhile, settled. */
    release(done) {
      const settle = () => {
        const seen = pending.length;
        if (seen === 0) return done();
        Promise.allSettled([...pending]).then(() => (pending.length === seen ? done() : settle()));
      };
      settle();
    },
  };
}

/** Event handlers of a Worker's default export other than fetch. */
const OTHER_EVENTS = ["scheduled", "queue", "email", "tail", "trace", "test"];

/**
 * The span API the binding wrappers use (a span of the current invocation, or the call alone outside
 * one), and `outside`, which runs code that belongs to no invocation (control-entrypoint.js).
 */
const recorder = {
  span(name, attributes, call) {
    const record = current();
    return record ? record.span(name, attributes, call) : call({ attributes: {} });
  },
  outside(run) {
    return invocations.run(OUTSIDE, run);
  },
  get recording() {
    return recording;
  },
  set recording(value) {
    recording = value;
  },
};

const untracedFetch = globalThis.fetch;
const originalLog = console.log.bind(console);

/** fetch() as a span of the invocation, with its trace context passed on (W3C `traceparent`). */
function tracedFetch(input, init) {
  const record = current();
  if (record === undefined || record.finished) return untracedFetch(input, init);
  let request;
  try {
    request = new Request(input, init);
  } catch (error) {
    // As fetch() itself: a bad URL or a used body rejects, never throws.
    return Promise.reject(error);
  }
  const url = new URL(request.url);
  return record.span("fetch", { "http.request.method": request.method, "url.full": `${url.origin}${url.pathname}`, "server.address": url.hostname }, (span) => {
    request.headers.set("traceparent", traceparent(record.traceId, span.spanId));
    return untracedFetch(request).then((response) => {
      span.attributes["http.response.status_code"] = response.status;
      if (response.status >= 500) span.error = true;
      return response;
    });
  });
}

/** console.* as log records of the invocation (with its trace id), and printed as before. */
function tracedConsole() {
  for (const level of ["debug", "info", "log", "warn", "error"]) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      current()?.log(level, args);
      original(...args);
    };
  }
}

/** console.* arguments as one line, as the console prints them. */
function format(args) {
  return args
    .map((part) => {
      if (typeof part === "string") return part;
      if (part instanceof Error) return `${part.name}: ${part.message}`;
      try {
        return JSON.stringify(part, (_, value) => (typeof value === "bigint" ? Number(value) : value));
      } catch {
        return String(part);
      }
    })
    .join(" ");
}

/** Installs the recorder in this isolate: fetch, console and the binding wrappers' span API. */
export function installTracing() {
  if (globalThis[TRACING]) return;
  globalThis[TRACING] = recorder;
  globalThis.fetch = tracedFetch;
  tracedConsole();
}
