// The runtime host's part of telemetry (ADR 0036, 0038). Each traced stack's isolate records its
// invocations (trace-context.js) and exports their spans and log records itself, through the stack's
// relay (otlp-relay.js, which sends to `endpointService`); it writes each invocation's summary as a line on its stdout,
// which stacks.mjs hands here. From the summaries this keeps each stack's metrics (requests, errors,
// latency, D1 rows, R2 and KV operations, and the CPU time of its workerd) and exports them as OTLP/HTTP
// JSON on their own interval, one resource per stack.
//
// Configured as OpenTelemetry SDKs are: OTEL_EXPORTER_OTLP_ENDPOINT (no endpoint: telemetry off),
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_METRIC_EXPORT_INTERVAL (ms).
// An endpoint that is down or refuses never slows a request: exports run on their own (a timer here, a
// batch's waitUntil in an isolate), time out, and what they carried is dropped, with one warning line
// until exports succeed again.
import http from "node:http";
import { readFileSync } from "node:fs";
import { EXPORT_TIMEOUT_MS, SCOPE, nanos, readRecordLine, stackResource } from "./otlp.mjs";

/** Latency buckets (ms), as a dashboard would chart a Worker's response times. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const CLOCK_TICK_MS = 10;

export class Telemetry {
  /** Each stack's dashboard resource (its row's name). */
  #resources = new Map();
  #metrics = new Map();
  /** What is failing to export — "/v1/metrics" here, or a stack's isolate — said once, and again when all succeed. */
  #failing = new Set();
  /** Invocations whose spans and logs were dropped since exports last succeeded everywhere. */
  #dropped = 0;
  #timers = [];

  /**
   * @param {{ endpoint: string, headers: Record<string, string>, metricIntervalMs: number,
   *   processOf: (stack: string) => number | undefined, say: (line: string) => void }} options
   */
  constructor({ endpoint, headers = {}, metricIntervalMs = 5000, processOf = () => undefined, say = console.log }) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.exportHeaders = headers;
    this.metricIntervalMs = metricIntervalMs;
    this.processOf = processOf;
    this.say = say;
  }

  /** From the standard OpenTelemetry environment variables; undefined when no endpoint is set (or the SDK is disabled). */
  static fromEnvironment(env, options = {}) {
    const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
    if (!endpoint || env.OTEL_SDK_DISABLED === "true") return undefined;
    return new Telemetry({
      endpoint,
      headers: parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
      metricIntervalMs: positive(env.OTEL_METRIC_EXPORT_INTERVAL, 5000),
      ...options,
    });
  }

  /**
   * The endpoint as a service a stack's relay sends through (Miniflare's external service): on
   * loopback, with the headers it asks for added to every request, so they never enter an isolate.
   */
  endpointService() {
    const url = new URL(this.endpoint);
    // workerd resolves names itself; the endpoint is on loopback (the harness checks that it is).
    const host = url.hostname === "localhost" ? "127.0.0.1" : url.hostname;
    const injectRequestHeaders = Object.entries(this.exportHeaders).map(([name, value]) => ({ name, value }));
    return { external: { address: `${host}:${url.port || 80}`, http: { injectRequestHeaders } } };
  }

  /** Exports metrics on their own timer from now on. */
  start() {
    this.#timers.push(setInterval(() => void this.flushMetrics(), this.metricIntervalMs).unref());
  }

  async close() {
    for (const timer of this.#timers) clearInterval(timer);
    await this.flushMetrics();
  }

  /** A stack started anew (a new Worker process, perhaps a new tenant under a reused name): its metrics start again. */
  forget(stack) {
    this.#metrics.delete(stack);
    this.#resources.delete(stack);
    this.stopped(stack);
  }

  /**
   * A stack's Worker stopped or crashed: what its isolate said of its exports no longer holds (a new
   * one says again). Quietly: nothing was seen to succeed.
   */
  stopped(stack) {
    if (this.#failing.delete(stack) && this.#failing.size === 0) this.#dropped = 0;
  }

  /**
   * One line a stack's isolate wrote (trace-context.js): an invocation's summary, counted in the
   * stack's metrics, or how its exports fare. One that cannot be read is dropped: telemetry never
   * fails a request, nor the stack's log.
   */
  recordLine(stack, resource, line) {
    let summary;
    try {
      summary = readRecordLine(line).summary;
    } catch {
      return;
    }
    this.#resources.set(stack, resource);
    if (typeof summary?.export === "string") this.#exportStatus(stack, summary);
    else this.#metricsOf(stack).add(summary);
  }

  /**
   * A stack's isolate said its exports failed (`signal`, `reason`), or succeed (its first, or again
   * after failing: `dropped` meanwhile).
   */
  #exportStatus(stack, { export: status, signal, reason, dropped }) {
    if (status === "failed") this.#failed(stack, signal ? `${this.endpoint}/v1/${signal}` : this.endpoint, reason);
    else if (status === "succeeded") this.#recovered(stack, Number(dropped) || 0);
  }

  #failed(what, url, reason) {
    if (this.#failing.has(what)) return;
    if (this.#failing.size === 0) this.say(`telemetry: export to ${url} failed (${reason}); dropping telemetry until it answers — requests are not affected`);
    this.#failing.add(what);
  }

  #recovered(what, dropped) {
    this.#dropped += dropped;
    if (!this.#failing.delete(what) || this.#failing.size > 0) return;
    this.say(`telemetry: exports to ${this.endpoint} succeed again (${this.#dropped} invocations' telemetry was dropped meanwhile)`);
    this.#dropped = 0;
  }

  async flushMetrics() {
    if (this.#metrics.size === 0) return;
    const now = Date.now();
    const resourceMetrics = [...this.#metrics].map(([stack, metrics]) => ({
      resource: stackResource(this.#resources.get(stack), stack),
      scopeMetrics: [{ scope: SCOPE, metrics: metrics.otlp(now, this.processOf(stack)) }],
    }));
    const path = "/v1/metrics";
    try {
      const status = await post(this.endpoint + path, { "content-type": "application/json", ...this.exportHeaders }, JSON.stringify({ resourceMetrics }));
      if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
      this.#recovered(path, 0);
    } catch (error) {
      this.#failed(path, this.endpoint + path, error.code ?? error.message);
    }
  }

  #metricsOf(stack) {
    let metrics = this.#metrics.get(stack);
    if (!metrics) this.#metrics.set(stack, (metrics = new StackMetrics()));
    return metrics;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });

/**
 * POSTs a JSON body; resolves with the status, or rejects (a refused connection, or no answer within
 * the export timeout). node:http rather than fetch: fetch's body streams cost this process, which every
 * stack shares, several times the CPU.
 */
function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body, "utf8");
    const request = http.request(url, { method: "POST", agent, headers: { ...headers, "content-length": payload.length }, timeout: EXPORT_TIMEOUT_MS }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(Object.assign(new Error(`no answer within ${EXPORT_TIMEOUT_MS} ms`), { code: "ETIMEDOUT" })));
    request.on("error", reject);
    request.end(payload);
  });
}

/** One stack's cumulative counters and latency histogram, as OTLP metrics. */
export class StackMetrics {
  requests = 0;
  errors = 0;
  d1Queries = 0;
  d1RowsRead = 0;
  d1RowsWritten = 0;
  r2Operations = 0;
  kvOperations = 0;
  /** Every request's wall time (their count is `requests`). */
  latency = { sum: 0, min: Infinity, max: 0, buckets: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) };
  /** When these counts started (a stack started anew starts them again). */
  start = Date.now();
  #lastCpu = undefined;
  /** CPU of the stack's earlier workerd processes (a reload or restart starts a new one), and the current one's pid. */
  #cpuOfEarlier = 0;
  #cpuOfCurrent = 0;
  #pid = undefined;

  add(summary) {
    this.requests += 1;
    if (summary.error) this.errors += 1;
    this.d1Queries += summary.d1Queries ?? 0;
    this.d1RowsRead += summary.d1RowsRead ?? 0;
    this.d1RowsWritten += summary.d1RowsWritten ?? 0;
    this.r2Operations += summary.r2Operations ?? 0;
    this.kvOperations += summary.kvOperations ?? 0;
    const ms = Math.max(0, Number(summary.durationMs) || 0);
    const bucket = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
    this.latency.buckets[bucket === -1 ? LATENCY_BOUNDS_MS.length : bucket] += 1;
    this.latency.sum += ms;
    this.latency.min = Math.min(this.latency.min, ms);
    this.latency.max = Math.max(this.latency.max, ms);
  }

  /** The stack's workerd CPU time so far, across the processes it has had: a counter never goes back. */
  #cpuMs(pid) {
    const current = cpuMsOf(pid);
    if (current === undefined) return this.#pid === undefined ? undefined : this.#cpuOfEarlier + this.#cpuOfCurrent;
    if (pid !== this.#pid) {
      this.#cpuOfEarlier += this.#cpuOfCurrent;
      this.#pid = pid;
    }
    this.#cpuOfCurrent = current;
    return this.#cpuOfEarlier + current;
  }

  /** The metrics at `now` (cumulative since `start`), with the CPU time of workerd process `pid`, when known. */
  otlp(now, pid) {
    const start = this.start;
    const cpuMs = this.#cpuMs(pid);
    const point = (value) => ({ startTimeUnixNano: nanos(start), timeUnixNano: nanos(now), asInt: String(value) });
    const counter = (name, unit, description, value) => ({ name, unit, description, sum: { dataPoints: [point(value)], aggregationTemporality: 2, isMonotonic: true } });
    const metrics = [
      counter("cloudflare.worker.requests", "{request}", "Requests the stack's Worker served", this.requests),
      counter("cloudflare.worker.errors", "{request}", "Requests that threw, exceeded a limit or answered 5xx", this.errors),
      counter("cloudflare.d1.queries", "{query}", "D1 queries the Worker ran", this.d1Queries),
      counter("cloudflare.d1.rows_read", "{row}", "D1 rows read", this.d1RowsRead),
      counter("cloudflare.d1.rows_written", "{row}", "D1 rows written", this.d1RowsWritten),
      counter("cloudflare.r2.operations", "{operation}", "R2 operations", this.r2Operations),
      counter("cloudflare.kv.operations", "{operation}", "KV operations", this.kvOperations),
      {
        name: "cloudflare.worker.duration",
        unit: "ms",
        description: "Wall time of each request, from its arrival to its response",
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [{
            startTimeUnixNano: nanos(start),
            timeUnixNano: nanos(now),
            count: String(this.requests),
            sum: this.latency.sum,
            ...(this.requests > 0 ? { min: this.latency.min, max: this.latency.max } : {}),
            bucketCounts: this.latency.buckets.map(String),
            explicitBounds: LATENCY_BOUNDS_MS,
          }],
        },
      },
    ];
    if (cpuMs !== undefined) {
      metrics.push(counter("cloudflare.worker.cpu_time", "ms", "CPU time of the stack's workerd process (the Worker and its bindings)", Math.round(cpuMs)));
      // Per request over the last interval: workerd reports no CPU time per invocation locally.
      const last = this.#lastCpu;
      this.#lastCpu = { cpuMs, requests: this.requests };
      if (last && this.requests > last.requests) {
        metrics.push({ name: "cloudflare.worker.cpu_time_per_request", unit: "ms", description: "The stack's CPU time per request over the last interval", gauge: { dataPoints: [{ timeUnixNano: nanos(now), asDouble: (cpuMs - last.cpuMs) / (this.requests - last.requests) }] } });
      }
    }
    return metrics;
  }
}

/** The CPU time (user + system, ms) of a process, from /proc; undefined when it cannot be read. */
export function cpuMsOf(pid) {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
  } catch {
    return undefined;
  }
}

/** OTEL_EXPORTER_OTLP_HEADERS: "key=value,key2=value2" (values URL-encoded). */
export function parseHeaders(text) {
  const headers = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

function positive(text, fallback) {
  const value = Number(text);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
