// The emulator's control entrypoint: a named entrypoint the runtime host adds to every stack's Worker
// (stacks.mjs wraps the Worker's own module; its default export and other exports are untouched),
// served on a loopback socket of its own. It is how the emulator (migrations, the operator's SQL
// console, the control-plane API) reaches a stack's D1, R2 and KV without a request through the
// Worker's public URL. It shares the Worker's isolate rather than being a Worker of its own: each
// extra Worker costs every stack memory and start-up time (docs/adr/0016). Never deployed.
// Its port is open to every local process, so each request must carry the runtime host's secret
// (the module beside this one, written by the host for each stack).
import { CONTROL_SECRET } from "./__emulator-control-secret.js";
import { splitStatements } from "./__emulator-sql-statements.js";
import { kvRoute, r2Route } from "./__emulator-control-storage.js";
import { workerFaults } from "./__emulator-worker-faults.js";
import { TRACING, invocationUsage, resetPeaks } from "./__emulator-invocation-meter.js";

/** A wrapped binding's control (its fault rules; KV's delay) is found through this key of it. */
const BINDING = Symbol.for("cloudflare-emulator.binding");

const encoder = new TextEncoder();
const expected = encoder.encode(`Bearer ${CONTROL_SECRET}`);

/** Whether the request carries the runtime host's secret (compared in constant time). */
function authorized(request) {
  const given = encoder.encode(request.headers.get("authorization") ?? "");
  return given.byteLength === expected.byteLength && crypto.subtle.timingSafeEqual(given, expected);
}

export const emulatorControl = {
  // The emulator's own calls are never taken for an invocation of the Worker's (trace-context.js).
  fetch(request, env) {
    const tracing = globalThis[TRACING];
    return tracing ? tracing.outside(() => control(request, env)) : control(request, env);
  },
};

async function control(request, env) {
  if (!authorized(request)) {
    return Response.json({ error: "authorization: the control entrypoint answers only the runtime host" }, { status: 401 });
  }
  const url = new URL(request.url);
  if (url.pathname === "/faults") return faults(env, request);
  if (url.pathname === "/telemetry") return telemetry(request);
  if (url.pathname === "/usage" && request.method === "GET") return usage(env);
  if (url.pathname === "/usage/peaks" && request.method === "DELETE") {
    resetPeaks();
    return usage(env);
  }
  const r2 = url.pathname.match(/^\/r2\/([A-Za-z_][A-Za-z0-9_]*)\/list$/);
  if (r2) return listObjects(env[r2[1]], url.searchParams.get("prefix") ?? undefined);
  const storage = kvRoute(request, env, url) ?? r2Route(request, env, url);
  if (storage) {
    try {
      return await storage;
    } catch (error) {
      return Response.json({ error: error.message }, { status: 400 });
    }
  }
  const kv = url.pathname.match(/^\/kv\/([A-Za-z_][A-Za-z0-9_]*)\/entries$/);
  if (kv) return kvEntries(env[kv[1]]);
  const match = url.pathname.match(/^\/d1\/([A-Za-z_][A-Za-z0-9_]*)\/(query|batch|sql|session|replication|migrations|export)$/);
  if (!match) return Response.json({ error: "not found" }, { status: 404 });
  const db = env[match[1]];
  if (!db || typeof db.prepare !== "function") {
    return Response.json({ error: `no D1 binding named ${match[1]}` }, { status: 404 });
  }
  try {
    if (match[2] === "replication") return await replication(db, request);
    if (request.method !== "POST") return Response.json({ error: "not found" }, { status: 404 });
    const body = await request.json();
    if (match[2] === "session") return await sessionQuery(db, body);
    if (match[2] === "migrations") return Response.json({ applied: await applyMigrations(db, body.migrations ?? []) });
    if (match[2] === "sql") return Response.json(await runSql(db, body));
    if (match[2] === "export") return Response.json({ sql: await exportSql(db, body) });
    if (match[2] === "query") {
      const result = await db.prepare(body.sql).bind(...(body.params ?? [])).all();
      return Response.json(result);
    }
    const results = await db.batch(body.statements.map((s) => db.prepare(s.sql).bind(...(s.params ?? []))));
    return Response.json(results);
  } catch (error) {
    return Response.json({ error: error.message }, { status: 400 });
  }
}

/**
 * SQL of one or more statements, as D1's HTTP query API takes it: one statement with its
 * parameters, or several (no parameters) as one batch. An array of results either way.
 */
async function runSql(db, { sql, params = [], raw = false }) {
  const statements = splitStatements(typeof sql === "string" ? sql : "");
  if (statements.length === 0) throw new Error("sql: a statement is required");
  if (statements.length > 1 && params.length > 0) throw new Error(`params: only a single statement takes parameters (this SQL has ${statements.length})`);
  const results = statements.length === 1
    ? [await db.prepare(statements[0]).bind(...params).all()]
    : await db.batch(statements.map((statement) => db.prepare(statement)));
  return raw ? results.map(asRows) : results;
}

/**
 * A result as D1's raw query answers it: column names and rows as arrays. The columns are read off
 * the first row, so a result with no rows has none.
 */
function asRows({ results, ...rest }) {
  const columns = results.length > 0 ? Object.keys(results[0]) : [];
  return { ...rest, results: { columns, rows: results.map((row) => columns.map((column) => row[column])) } };
}

/**
 * The database as SQL (schema, rows, or both; all tables or some), as `wrangler d1 export` writes it:
 * Miniflare's D1 answers this pragma with the dump, as its own local export does. "All" is the
 * database's own tables, indexes, triggers and views: not the emulator's replication log
 * (_emulator_*), nor sqlite_sequence, whose rows would name the log.
 */
async function exportSql(db, { noSchema = false, noData = false, tables = [] }) {
  const names = tables.length > 0 ? tables : (await db.prepare(OWN_SCHEMA).all()).results.map((r) => r.name);
  // An empty list would mean every table to Miniflare: a database with nothing of its own dumps nothing.
  if (names.length === 0) return "PRAGMA defer_foreign_keys=TRUE;";
  const [statements] = await db.prepare("PRAGMA miniflare_d1_export(?,?,?);").bind(noSchema ? 1 : 0, noData ? 1 : 0, ...names).raw();
  return statements.join("\n");
}

const OWN_SCHEMA = "SELECT name FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_emulator\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_emulator\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'";

/**
 * Applies the migrations ([{ name, sql }], in order) that wrangler's table d1_migrations does
 * not list yet, each as one batch with its record: whole or not at all. All in one request, as a
 * stack's start waits on it and every call from the runtime host, and every D1 call, adds to it
 * (ADR 0020).
 */
async function applyMigrations(db, migrations) {
  const [, done] = await db.batch([
    db.prepare("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"),
    db.prepare("SELECT name FROM d1_migrations"),
  ]);
  const names = new Set(done.results.map((r) => r.name));
  const applied = [];
  for (const { name, sql } of migrations) {
    if (names.has(name)) continue;
    const statements = splitStatements(sql);
    try {
      await db.batch([...statements.map((sql) => db.prepare(sql)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(name)]);
    } catch (error) {
      throw new Error(`migration ${name}: ${error.message}`);
    }
    applied.push(name);
  }
  return applied;
}

/** The emulated read replication of a D1 binding (d1-replication.js): status, or new settings. */
async function replication(db, request) {
  const control = db[Symbol.for("cloudflare-emulator.d1-replication")];
  if (!control) return Response.json({ error: "this D1 binding has no emulated replication" }, { status: 404 });
  if (request.method === "GET") return Response.json(await control.status());
  if (request.method !== "PUT") return Response.json({ error: "not found" }, { status: 404 });
  try {
    return Response.json(await control.configure(await request.json()));
  } catch (error) {
    if (error instanceof RangeError) return Response.json({ error: error.message }, { status: 400 });
    throw error;
  }
}

/**
 * The chaos API's rules for this stack (fault-rules.mjs): GET reads what each binding and the fetch
 * handler hold; PUT { rules, staleness } hands every D1, R2 and KV binding the rules of its service,
 * the fetch handler the "worker" ones, each the effect for its service (effects by service), each
 * KV binding its delay (staleness by binding name), and each D1 binding the size limit.
 */
async function faults(env, request) {
  const bindings = wrappedBindings(env);
  if (request.method === "PUT") {
    const { rules = [], effects = {}, staleness = {}, d1MaxSizeBytes = null } = await request.json();
    for (const [name, control] of bindings) {
      control.faults.set(rules.filter((rule) => rule.service === control.service), effects[control.service]);
      control.staleness?.set(staleness[name]);
      control.limit?.set({ maxSizeBytes: d1MaxSizeBytes });
    }
    workerFaults.set(rules.filter((rule) => rule.service === "worker"), effects.worker);
  } else if (request.method !== "GET") {
    return Response.json({ error: "not found" }, { status: 404 });
  }
  return Response.json({
    bindings: Object.fromEntries(bindings.map(([name, control]) => [name, {
      service: control.service,
      rules: control.faults.list(),
      effect: control.faults.effect,
      ...(control.staleness ? { staleness: { delayMs: control.staleness.delayMs, probability: control.staleness.probability } } : {}),
      ...(control.limit ? { maxSizeBytes: control.limit.get() ?? null } : {}),
    }])),
    worker: { rules: workerFaults.list(), effect: workerFaults.effect },
  });
}

/**
 * Whether the stack's invocations are recorded (trace-context.js): GET reads it, PUT { recording }
 * sets it in this isolate (the runtime host keeps it for the stack's next start).
 */
async function telemetry(request) {
  const tracing = globalThis[TRACING];
  if (!tracing) return Response.json({ error: "telemetry is off for this stack: nothing is recorded" }, { status: 409 });
  if (request.method === "PUT") {
    const body = await request.json().catch(() => undefined);
    if (typeof body?.recording !== "boolean") return Response.json({ error: "recording: true or false" }, { status: 400 });
    tracing.recording = body.recording;
  } else if (request.method !== "GET") {
    return Response.json({ error: "not found" }, { status: 404 });
  }
  return Response.json({ recording: tracing.recording });
}

/**
 * What the stack's Worker has used since it started, as production would bill and limit it: its
 * fetch handler's requests and per-invocation peaks (invocation-meter.js), and each binding's calls
 * (D1: statements, rows read and written, their time; R2 and KV: calls by method).
 */
function usage(env) {
  const bindings = wrappedBindings(env).map(([name, control]) => [name, { service: control.service, ...structuredClone(control.usage) }]);
  return Response.json({ worker: invocationUsage, bindings: Object.fromEntries(bindings) });
}

/** The stack's wrapped bindings (D1, R2, KV), each [name, its control]. */
function wrappedBindings(env) {
  return Object.entries(env).flatMap(([name, value]) => {
    const control = value !== null && typeof value === "object" ? value[BINDING] : undefined;
    return control ? [[name, control]] : [];
  });
}

/**
 * Statements run in one D1 session, as a Worker would run them: the operator's view of what a
 * bookmark or constraint reads, with each result's meta (served_by_primary, served_by_region).
 */
async function sessionQuery(db, body) {
  const session = db.withSession(body.bookmark ?? "first-unconstrained");
  const results = [];
  for (const s of body.statements ?? []) results.push(await session.prepare(s.sql).bind(...(s.params ?? [])).all());
  return Response.json({ results, bookmark: session.getBookmark() });
}

/** What a KV namespace holds (up to 1,000 keys, each value's first 2 KB): for the residency report. */
async function kvEntries(namespace) {
  if (!namespace || typeof namespace.list !== "function") return Response.json({ error: "no such KV binding" }, { status: 404 });
  const page = await namespace.list({ limit: 1000 });
  const entries = [];
  for (const { name } of page.keys) {
    const value = (await namespace.get(name)) ?? "";
    entries.push({ key: name, value: value.slice(0, 2048) });
  }
  return Response.json({ entries, truncated: !page.list_complete });
}

/** Every object key in a bucket (the operator's view, e.g. to prove no orphan object exists). */
async function listObjects(bucket, prefix) {
  if (!bucket || typeof bucket.list !== "function") return Response.json({ error: "no such R2 binding" }, { status: 404 });
  const keys = [];
  let cursor;
  do {
    const page = await bucket.list({ prefix, cursor });
    keys.push(...page.objects.map((o) => ({ key: o.key, size: o.size })));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return Response.json({ objects: keys });
}
