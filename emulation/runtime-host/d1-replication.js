// Emulated D1 read replication — emulator code, bound in place of a stack's D1 binding, never deployed.
//
// Local D1 has one copy of each database and ignores the bookmarks it is given. This module is the
// D1 binding a stack's Worker (and the emulator's control entrypoint) really receives: a Miniflare
// "wrapped binding" that keeps the real D1 database as the primary and adds read replicas — more
// Miniflare D1 databases — that apply the primary's committed writes after a configurable lag.
//
//  - Every write goes to the primary; in the same transaction the statements are appended to a
//    replication log (_emulator_d1_log), so a replica never applies a write the primary rolled back.
//  - A replica applies log entries whose lag has passed, in order, lazily when it is read, and records
//    how far it got in the same transaction (_emulator_d1_replica). A frozen replica applies nothing.
//  - Sessions follow D1's Sessions API: queries outside a session, and the first query of a
//    "first-primary" session, run on the primary; other reads in a session may run on a replica, but
//    never on one older than the session's bookmark: the replica waits for the entries it lacks (at
//    most the lag), and a frozen replica hands the query to the primary.
//  - Bookmarks are the log position in D1's shape (8-8-8-32 hex, lexicographically ordered), signed
//    with a per-database secret, so a malformed, forged or other-database bookmark is an error rather
//    than silently ignored (d1-bookmarks.mjs). Positions live in the database, so bookmarks stay
//    valid across restarts.
//
// The emulator's own tables are named _emulator_d1_* (workerd refuses D1's reserved _cf_ prefix to
// everyone, the emulator included). A replica copies every table but these.

import { BOOKMARK, bookmarkKey, readBookmark, signBookmark } from "./d1-bookmarks.js";
import { FaultRules, applyFault } from "./fault-rules.js";

/** The control entrypoint reaches replication status and settings through this key of the binding. */
const REPLICATION = Symbol.for("cloudflare-emulator.d1-replication");
/** …and its fault rules through this one, as every wrapped binding's (storage-bindings.js). */
const BINDING = Symbol.for("cloudflare-emulator.binding");
/**
 * The traced Worker's span recorder (trace-context.js), which a wrapped binding cannot import: the
 * Worker's entry puts it here; the isolate is the same.
 */
const TRACING = Symbol.for("cloudflare-emulator.tracing");

const CONFIG_TTL_MS = 200;
const PULL_PAGE = 200;
/**
 * Without a bookmark to satisfy, a replica looks for new log entries at most this often (so with a
 * lag of L it is between L and L + this behind; a bookmark makes it look at once).
 */
const PULL_INTERVAL_MS = 100;
/** How long a session waits for the primary to reach a bookmark ahead of it before failing. */
const FUTURE_WAIT_MS = 2000;
const PRIMARY_REGION = "WEUR";
/** Replicas of an EU-jurisdiction database stay in EU regions (see docs/d1-replication.md). */
const REPLICA_REGIONS = ["EEUR", "WEUR"];

const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS _emulator_d1_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, committed_at INTEGER NOT NULL, statements TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS _emulator_d1_replication (id INTEGER PRIMARY KEY CHECK (id = 1), replicas INTEGER NOT NULL, lag_ms INTEGER NOT NULL, frozen TEXT NOT NULL, secret TEXT NOT NULL, snapshot_below INTEGER NOT NULL)",
];
const HEAD = "SELECT coalesce(max(seq), 0) AS head FROM _emulator_d1_log";
const SETTINGS = "SELECT replicas, lag_ms, frozen, secret, snapshot_below FROM _emulator_d1_replication WHERE id = 1";
/** HEAD and SETTINGS in one statement: local D1 runs two more for each statement (its changes, before and after). */
const HEAD_AND_SETTINGS = `SELECT (${HEAD}) AS head, replicas, lag_ms, frozen, secret, snapshot_below FROM _emulator_d1_replication WHERE id = 1`;
const USER_TABLES = "SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE '\\_emulator\\_d1\\_%' ESCAPE '\\' ORDER BY name";
const USER_OBJECTS = "SELECT sql FROM sqlite_schema WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND tbl_name NOT LIKE '\\_emulator\\_d1\\_%' ESCAPE '\\' ORDER BY type, name";

/** One replication state per database and isolate (a stack's Worker and its control entrypoint share one). */
const databases = new Map();

export default function (env) {
  let replication = databases.get(env.databaseId);
  if (!replication) databases.set(env.databaseId, (replication = new Replication(env)));
  return new ReplicatedDatabase(replication);
}

class D1Error extends Error {
  constructor(message) {
    super(`D1_ERROR: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The D1Database / D1DatabaseSession / D1PreparedStatement surface the Worker sees.

class ReplicatedDatabase {
  #replication;
  constructor(replication) {
    this.#replication = replication;
    Object.defineProperty(this, REPLICATION, { value: replication, enumerable: false });
    Object.defineProperty(this, BINDING, { value: replication.control, enumerable: false });
  }
  prepare(sql) {
    return new Statement(this.#replication, null, sql, []);
  }
  batch(statements) {
    return this.#replication.query(null, "batch", statements.map(own), undefined);
  }
  async exec(sql) {
    // exec runs unprepared, possibly several statements: primary only, and logged as one entry.
    return this.#replication.exec(sql);
  }
  withSession(constraintOrBookmark = "first-unconstrained") {
    return new Session(this.#replication, constraintOrBookmark ?? "first-unconstrained");
  }
  dump() {
    return this.#replication.primary.dump();
  }
}

const EXPORT_PRAGMA = "PRAGMA miniflare_d1_export(?,?,?);";

class Session {
  #replication;
  constructor(replication, start) {
    this.#replication = replication;
    this.state = { start, seq: undefined, bookmark: undefined, queried: false, checked: false };
  }
  prepare(sql) {
    return new Statement(this.#replication, this, sql, []);
  }
  batch(statements) {
    return this.#replication.query(this, "batch", statements.map(own), undefined);
  }
  getBookmark() {
    return this.state.bookmark ?? (BOOKMARK.test(this.state.start) ? this.state.start : null);
  }
}

class Statement {
  #replication;
  constructor(replication, session, sql, params) {
    this.#replication = replication;
    this.session = session;
    this.sql = sql;
    this.params = params;
  }
  bind(...values) {
    // The real binding checks the values (and throws as D1 does) before anything runs.
    this.#replication.primary.prepare(this.sql).bind(...values);
    return new Statement(this.#replication, this.session, this.sql, values);
  }
  all() {
    return this.#replication.query(this.session, "all", [this], undefined);
  }
  run() {
    return this.#replication.query(this.session, "run", [this], undefined);
  }
  first(column) {
    return this.#replication.query(this.session, "first", [this], column);
  }
  raw(options) {
    return this.#replication.query(this.session, "raw", [this], options);
  }
}

function own(statement) {
  if (!(statement instanceof Statement)) throw new TypeError("D1 batch: every statement must come from this database's prepare()");
  return statement;
}

// ---------------------------------------------------------------------------------------------
// Routing, the log, replicas and bookmarks.

class Replication {
  constructor(env) {
    this.databaseId = env.databaseId;
    this.primary = env[env.primaryBinding];
    /** The most replicas an architect may ask for; the runtime host adds their databases on first use. */
    this.maxReplicas = env.maxReplicas;
    this.replicas = Array.from({ length: env.replicaSlots }, (_, i) => env[`${env.primaryBinding}__replica_${i}`]);
    this.initialised = undefined;
    this.config = undefined;
    this.configReadAt = 0;
    this.key = undefined;
    this.applied = new Map();
    this.pulledAt = new Map();
    /** Bookmarks this isolate issued or verified, by text (their seq): checked once, not per request. */
    this.bookmarks = new Map();
    /** The bookmark this isolate signed for a log position: reads that find no new write reuse it. */
    this.signed = new Map();
    /** The newest log position this isolate has seen: a bookmark at or below it is not from the future. */
    this.knownHead = 0;
    /** Log entries this isolate wrote, by seq: a replica catching up to them need not ask the primary. */
    this.written = new Map();
    this.locks = new Map();
    /** Fault rules from the chaos API (fault-rules.mjs); none by default. */
    this.faults = new FaultRules();
    /**
     * The database's size limit (D1's is 10 GB; the chaos API sets a smaller one to reach it on
     * purpose), and its size after the last write (D1's meta.size_after): at or over the limit, a
     * write is refused as D1 refuses it, before anything of it runs.
     */
    this.maxSizeBytes = undefined;
    this.sizeBytes = 0;
    /**
     * What production would bill and measure: statements run for the Worker, with the rows read and
     * written and the time they took as each result's meta reports them (the emulator's own log,
     * position and replica statements left out).
     */
    this.usage = { queries: 0, rowsRead: 0, rowsWritten: 0, durationMs: 0 };
    /** What the control entrypoint reaches through the binding (BINDING). */
    this.control = {
      service: "d1",
      faults: this.faults,
      usage: this.usage,
      limit: { set: ({ maxSizeBytes } = {}) => (this.maxSizeBytes = maxSizeBytes ?? undefined), get: () => this.maxSizeBytes },
    };
  }

  async #fault(operation) {
    const rule = this.faults.pick(operation);
    if (rule) await applyFault(rule);
  }

  // ---- execution ------------------------------------------------------------------------

  /**
   * One call of the Worker's. In a traced stack (the harness collects telemetry, ADR 0036) it is one
   * D1 span, as production's D1 opens one a call: the Worker's SQL (never its bound values), rows read
   * and written, where it ran and the session's bookmark after it — not what the emulator runs for it
   * (its replication log).
   */
  query(session, kind, statements, options) {
    if (!globalThis[TRACING]) return this.execute(session, kind, statements, options);
    return this.#span(kind, statements.map((s) => s.sql).join(";\n"), session, (trace) => this.execute(session, kind, statements, options, false, trace));
  }

  #span(kind, sql, session, run) {
    const attributes = { "db.system.name": "cloudflare-d1", "db.operation.name": kind, "db.query.text": sql, "cloudflare.binding.type": "D1", "cloudflare.d1.database_id": this.databaseId };
    return globalThis[TRACING].span(`d1_${kind}`, attributes, async (span) => {
      const trace = { rowsRead: 0, rowsWritten: 0, target: undefined };
      try {
        return await run(trace);
      } finally {
        span.attributes["cloudflare.d1.response.rows_read"] = trace.rowsRead;
        span.attributes["cloudflare.d1.response.rows_written"] = trace.rowsWritten;
        if (trace.target) {
          span.attributes["cloudflare.d1.response.served_by_primary"] = trace.target.primary;
          span.attributes["cloudflare.d1.response.served_by_region"] = regionOf(trace.target);
        }
        const bookmark = session?.getBookmark();
        if (bookmark) span.attributes["cloudflare.d1.session.bookmark"] = bookmark;
      }
    });
  }

  async execute(session, kind, statements, options, faultChecked = false, trace = undefined) {
    // Miniflare's D1 dumps the database for this pragma only when it arrives as a statement on its
    // own (the harness's export; it changes nothing): it goes to the primary as it is.
    if (statements.length === 1 && statements[0].sql === EXPORT_PRAGMA) return runOn(this.primary, kind, statements, options);
    // An architect's fault rules (the chaos API) fire first, as production's D1 fails before it runs
    // anything — once a call, not again when the call is chosen a second time below.
    if (!faultChecked && !this.faults.empty) await this.#fault(kind === "batch" ? "batch" : "query");
    await this.#init();
    if (session) await this.#checkStart(session);
    const writes = statements.some((s) => !isReadOnly(s.sql));
    if (writes) {
      const { results, seq } = await this.#write(statements);
      this.#meter(results, trace);
      if (trace) trace.target = { primary: true };
      if (session) await this.#advance(session, seq);
      return shape(kind, results, options, { primary: true });
    }
    const batched = kind !== "raw";
    const target = session ? await this.#chooseForRead(session, batched) : { primary: true };
    if (session && target.primary && batched) {
      // The primary's position — and the settings, when due for a re-read — come back in the same
      // transaction as the read: one round trip.
      const inner = statements.map((s) => this.primary.prepare(s.sql).bind(...s.params));
      const results = await this.primary.batch([...inner, this.primary.prepare(target.settingsDue ? HEAD_AND_SETTINGS : HEAD)]);
      const position = results.at(-1).results[0];
      if (target.settingsDue && (await this.#settle(position)).replicas > 0) {
        // A replica may serve it after all: choose again with the fresh settings.
        return this.execute(session, kind, statements, options, true, trace);
      }
      await this.#advance(session, position.head);
      this.#meter(results.slice(0, -1), trace);
      if (trace) trace.target = target;
      return shape(kind, results.slice(0, -1), options, target);
    }
    const db = target.primary ? this.primary : this.replicas[target.replica];
    // first() is answered from all() (as the batched paths above do), whose result's meta usage counts.
    const output = await runOn(db, kind === "first" ? "all" : kind, statements, options);
    if (kind === "raw") this.usage.queries += 1;
    else this.#meter(kind === "batch" ? output : [output], trace);
    if (trace) trace.target = target;
    if (session) await this.#advance(session, target.primary ? await this.#head() : await this.#appliedOf(target.replica));
    return kind === "first" ? shape(kind, [output], options, target) : decorate(kind, output, target);
  }

  exec(sql) {
    if (!globalThis[TRACING]) return this.#exec(sql);
    return this.#span("exec", sql, null, async (trace) => {
      const result = await this.#exec(sql);
      trace.target = { primary: true };
      return result;
    });
  }

  async #exec(sql) {
    if (!this.faults.empty) await this.#fault("exec");
    await this.#init();
    this.#checkSize();
    const result = await this.primary.exec(sql);
    this.usage.queries += result?.count ?? 1;
    const logged = await this.primary
      .prepare("INSERT INTO _emulator_d1_log (committed_at, statements) VALUES (?, ?)")
      .bind(Date.now(), JSON.stringify([{ sql, params: [], exec: true }]))
      .run();
    this.sizeBytes = logged.meta?.size_after ?? this.sizeBytes;
    return result;
  }

  /** Adds results (each with D1's meta) to the usage; a result without meta counts as a query that read nothing. */
  #meter(results, trace) {
    for (const result of results) {
      if (trace) {
        trace.rowsRead += result?.meta?.rows_read ?? 0;
        trace.rowsWritten += result?.meta?.rows_written ?? 0;
      }
      this.usage.queries += 1;
      this.usage.rowsRead += result?.meta?.rows_read ?? 0;
      this.usage.rowsWritten += result?.meta?.rows_written ?? 0;
      this.usage.durationMs += result?.meta?.duration ?? 0;
    }
  }

  /** A database at or over its size limit takes no write: refused as D1 refuses it, nothing of it run. */
  #checkSize() {
    if (this.maxSizeBytes !== undefined && this.sizeBytes >= this.maxSizeBytes) {
      throw new Error("D1_ERROR: Exceeded maximum DB size", { cause: new Error("Exceeded maximum DB size") });
    }
  }

  async #write(statements) {
    this.#checkSize();
    const inner = statements.map((s) => this.primary.prepare(s.sql).bind(...s.params));
    const committedAt = Date.now();
    const encoded = JSON.stringify(statements.map((s) => ({ sql: s.sql, params: s.params.map(encodeValue) })));
    const log = this.primary.prepare("INSERT INTO _emulator_d1_log (committed_at, statements) VALUES (?, ?) RETURNING seq").bind(committedAt, encoded);
    const results = await this.primary.batch([...inner, log]);
    this.sizeBytes = results.at(-1).meta?.size_after ?? this.sizeBytes;
    const seq = results.at(-1).results[0].seq;
    this.#remember({ seq, committed_at: committedAt, statements: encoded });
    return { results: results.slice(0, -1), seq };
  }

  async #head() {
    const head = (await this.primary.prepare(HEAD).first("head")) ?? 0;
    if (head > this.knownHead) this.knownHead = head;
    return head;
  }

  /**
   * Where a session's read runs: the primary, or a replica at least as new as the session. With the
   * settings due for a re-read, no replicas in the last ones and a read that can carry it (`batched`),
   * the primary — which may always serve a read — with `settingsDue`: most databases have no replicas,
   * and a tenant reading a few times a second would otherwise pay a second round trip for the
   * settings on nearly every read.
   */
  async #chooseForRead(session, batched) {
    const first = !session.state.queried;
    session.state.queried = true;
    if (first && session.state.start === "first-primary") return { primary: true };
    // (While replicas are configured, the settings are read on their own, as a replica serves the read.)
    if (batched && !this.#settingsFresh() && (this.config?.replicas ?? 0) === 0) return { primary: true, settingsDue: true };
    const config = await this.#configuration();
    if (config.replicas === 0) return { primary: true };
    const replica = Math.floor(Math.random() * config.replicas);
    const need = session.state.seq ?? 0;
    const ready = await this.#catchUp(replica, need, config);
    return ready ? { primary: false, replica } : { primary: true };
  }

  // ---- replicas ---------------------------------------------------------------------------

  /** Applies what replica r may apply by now; true when it then holds everything up to `need`. */
  #catchUp(replica, need, config) {
    // A replica that has applied nothing is an empty database, without even the schema: never served.
    const servable = (applied) => applied > 0 && applied >= need;
    // The common case — up to date enough, looked recently — needs no lock and no round trip.
    const known = this.applied.get(replica);
    const frozen = config.frozen.includes(replica);
    if (servable(known) && (frozen || Date.now() - (this.pulledAt.get(replica) ?? 0) < PULL_INTERVAL_MS)) {
      return Promise.resolve(true);
    }
    return this.#locked(replica, async () => {
      let applied = await this.#appliedOf(replica);
      if (servable(applied) && (frozen || Date.now() - (this.pulledAt.get(replica) ?? 0) < PULL_INTERVAL_MS)) return true;
      if (frozen) return false;
      if (applied < config.snapshotBelow) applied = await this.#bootstrap(replica, applied);
      const ownWrites = this.#recall(applied, need);
      if (ownWrites && Date.now() - (this.pulledAt.get(replica) ?? 0) < PULL_INTERVAL_MS) {
        // What the bookmark needs was written through this isolate: apply it without a round trip.
        await sleep(ownWrites.at(-1).committed_at + config.lagMs - Date.now());
        return servable(await this.#apply(replica, applied, ownWrites));
      }
      for (;;) {
        this.pulledAt.set(replica, Date.now());
        const { results: entries } = await this.primary
          .prepare("SELECT seq, committed_at, statements FROM _emulator_d1_log WHERE seq > ? ORDER BY seq LIMIT ?")
          .bind(applied, PULL_PAGE)
          .all();
        if (entries.length === 0) return servable(applied);
        // The replica waits for the entries a bookmark needs: at most the lag, as D1's replicas do.
        const needed = entries.filter((e) => e.seq <= need).at(-1);
        if (needed) await sleep(needed.committed_at + config.lagMs - Date.now());
        const now = Date.now();
        const due = entries.filter((e) => e.committed_at + config.lagMs <= now);
        if (due.length === 0) return servable(applied);
        applied = await this.#apply(replica, applied, due);
        if (due.length < entries.length || entries.length < PULL_PAGE) return servable(applied);
      }
    });
  }

  async #apply(replica, from, entries) {
    const db = this.replicas[replica];
    let applied = from;
    // Prepared statements apply as one transaction per run of entries; an exec() entry (unprepared
    // SQL, possibly several statements) cannot join a batch and applies on its own.
    for (const run of runsOf(entries.map((e) => ({ seq: e.seq, statements: JSON.parse(e.statements) })))) {
      const to = run.at(-1).seq;
      const cas = [
        // Compare-and-set the position: if another isolate applied these first, the guard row breaks
        // its CHECK and the whole batch rolls back, so nothing is applied twice.
        db.prepare("UPDATE _emulator_d1_replica SET applied = ? WHERE id = 1 AND applied = ?").bind(to, applied),
        db.prepare("INSERT INTO _emulator_d1_replica_guard (x) SELECT 1 WHERE changes() = 0"),
      ];
      try {
        if (run[0].statements[0]?.exec) {
          await db.batch(cas);
          await db.exec(run[0].statements[0].sql);
        } else {
          await db.batch([...cas, ...run.flatMap((e) => e.statements.map((s) => db.prepare(s.sql).bind(...s.params.map(decodeValue))))]);
        }
      } catch (error) {
        if (!String(error.message).includes("CHECK constraint failed")) throw error;
        this.applied.delete(replica);
        return this.#appliedOf(replica);
      }
      applied = to;
      this.applied.set(replica, to);
    }
    return applied;
  }

  async #appliedOf(replica) {
    const known = this.applied.get(replica);
    if (known !== undefined) return known;
    const applied = await this.#storedApplied(replica);
    // Another request may have applied more meanwhile: the cache only moves forward.
    this.applied.set(replica, Math.max(applied, this.applied.get(replica) ?? 0));
    return this.applied.get(replica);
  }

  /** How far replica r is, as its database records it (another isolate may have moved it on). */
  async #storedApplied(replica) {
    const db = this.replicas[replica];
    const [, , , state] = await db.batch([
      db.prepare("CREATE TABLE IF NOT EXISTS _emulator_d1_replica (id INTEGER PRIMARY KEY CHECK (id = 1), applied INTEGER NOT NULL)"),
      db.prepare("CREATE TABLE IF NOT EXISTS _emulator_d1_replica_guard (x INTEGER CHECK (x IS NULL))"),
      db.prepare("INSERT OR IGNORE INTO _emulator_d1_replica (id, applied) VALUES (1, 0)"),
      db.prepare("SELECT applied FROM _emulator_d1_replica WHERE id = 1"),
    ]);
    return state.results[0].applied;
  }

  /**
   * A database that held data before replication was first set up has writes the log never saw: a
   * new replica starts from a consistent copy of the primary (one read transaction) instead.
   */
  async #bootstrap(replica, applied) {
    const tables = (await this.primary.prepare(USER_TABLES).all()).results;
    const columns = await Promise.all(
      tables.map(async (t) => (await this.primary.prepare(`PRAGMA table_xinfo(${quote(t.name)})`).all()).results.filter((c) => c.hidden === 0).map((c) => c.name)),
    );
    const snapshot = await this.primary.batch([
      this.primary.prepare(HEAD),
      this.primary.prepare(USER_OBJECTS),
      ...tables.map((t, i) => this.primary.prepare(`SELECT ${columns[i].map(quote).join(", ")} FROM ${quote(t.name)}`)),
    ]);
    const head = snapshot[0].results[0].head;
    const db = this.replicas[replica];
    const copy = [
      db.prepare("UPDATE _emulator_d1_replica SET applied = ? WHERE id = 1 AND applied = ?").bind(head, applied),
      db.prepare("INSERT INTO _emulator_d1_replica_guard (x) SELECT 1 WHERE changes() = 0"),
      ...tables.map((t) => db.prepare(`DROP TABLE IF EXISTS ${quote(t.name)}`)),
      ...tables.map((t) => db.prepare(t.sql)),
    ];
    tables.forEach((t, i) => {
      const rows = snapshot[i + 2].results;
      const names = columns[i];
      for (let at = 0; at < rows.length; at += 100) {
        const chunk = rows.slice(at, at + 100).map((row) => names.map((n) => row[n]));
        copy.push(
          db.prepare(`INSERT INTO ${quote(t.name)} (${names.map(quote).join(", ")}) SELECT ${names.map((_, c) => `value ->> ${c}`).join(", ")} FROM json_each(?)`).bind(JSON.stringify(chunk)),
        );
      }
    });
    copy.push(...snapshot[1].results.map((o) => db.prepare(o.sql)));
    await db.batch(copy);
    this.applied.set(replica, head);
    return head;
  }

  #remember(entry) {
    this.written.set(entry.seq, entry);
    if (this.written.size > 1000) this.written.delete(this.written.keys().next().value);
  }

  /** The entries after `applied` up to `need`, if this isolate wrote every one of them. */
  #recall(applied, need) {
    if (need <= applied) return undefined;
    const entries = [];
    for (let seq = applied + 1; seq <= need; seq++) {
      const entry = this.written.get(seq);
      if (!entry) return undefined;
      entries.push(entry);
    }
    return entries;
  }

  #locked(replica, work) {
    const previous = this.locks.get(replica) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.locks.set(replica, next.catch(() => undefined));
    return next;
  }

  // ---- configuration ----------------------------------------------------------------------

  async #init() {
    this.initialised ??= (async () => {
      const p = this.primary;
      const secret = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
      const results = await p.batch([
        ...SCHEMA.map((sql) => p.prepare(sql)),
        // Data written before replication existed is copied, not replayed (see #bootstrap): an empty
        // first log entry marks the point a replica's copy must reach.
        p.prepare(
          `INSERT INTO _emulator_d1_log (committed_at, statements)
           SELECT ?, '[]' WHERE NOT EXISTS (SELECT 1 FROM _emulator_d1_replication) AND EXISTS (${USER_TABLES})`,
        ).bind(Date.now()),
        p.prepare(
          `INSERT OR IGNORE INTO _emulator_d1_replication (id, replicas, lag_ms, frozen, secret, snapshot_below)
           SELECT 1, 0, 0, '[]', ?, (SELECT coalesce(max(seq), 0) FROM _emulator_d1_log)`,
        ).bind(secret),
      ]);
      // The size the database starts with, for the size limit before its first write here.
      this.sizeBytes = results.at(-1).meta?.size_after ?? this.sizeBytes;
    })().catch((error) => {
      this.initialised = undefined;
      throw error;
    });
    return this.initialised;
  }

  async #configuration(fresh = false) {
    if (!fresh && this.#settingsFresh()) return this.config;
    await this.#init();
    return this.#settle(await this.primary.prepare(SETTINGS).first());
  }

  #settingsFresh() {
    return this.config !== undefined && Date.now() - this.configReadAt < CONFIG_TTL_MS;
  }

  /** Takes the settings row (SETTINGS) as the current configuration. */
  async #settle(row) {
    this.config = {
      replicas: Math.min(row.replicas, this.replicas.length),
      lagMs: row.lag_ms,
      frozen: JSON.parse(row.frozen),
      snapshotBelow: row.snapshot_below,
    };
    if (!this.key) {
      this.key = await bookmarkKey(row.secret);
    }
    this.configReadAt = Date.now();
    return this.config;
  }

  /** Status for the emulator's API and dashboard. */
  async status() {
    const config = await this.#configuration(true);
    const head = await this.#head();
    const replicas = [];
    for (let r = 0; r < config.replicas; r++) {
      // Read from the replica, not the cache: requests in this isolate may be relying on the cache.
      replicas.push({ index: r, region: REPLICA_REGIONS[r % REPLICA_REGIONS.length], applied: await this.#storedApplied(r), frozen: config.frozen.includes(r) });
    }
    return { databaseId: this.databaseId, replicas: config.replicas, maxReplicas: this.maxReplicas, lagMs: config.lagMs, frozen: config.frozen, primaryRegion: PRIMARY_REGION, head, bookmark: await this.bookmarkFor(head), replicaState: replicas };
  }

  /** Changes replica count, lag or frozen replicas; every isolate sees it within CONFIG_TTL_MS. */
  async configure({ replicas, lagMs, frozen }) {
    const config = await this.#configuration(true);
    const next = {
      replicas: replicas ?? config.replicas,
      lagMs: lagMs ?? config.lagMs,
      frozen: (frozen ?? config.frozen).filter((r) => r < (replicas ?? config.replicas)),
    };
    if (!Number.isInteger(next.replicas) || next.replicas < 0 || next.replicas > this.maxReplicas) {
      throw new RangeError(`replicas: between 0 and ${this.maxReplicas}`);
    }
    if (next.replicas > this.replicas.length) {
      throw new Error(`replicas: only ${this.replicas.length} replica databases are bound; the runtime host adds them before configuring`);
    }
    if (!Number.isInteger(next.lagMs) || next.lagMs < 0 || next.lagMs > 600000) throw new RangeError("lagMs: between 0 and 600000");
    await this.primary
      .prepare("UPDATE _emulator_d1_replication SET replicas = ?, lag_ms = ?, frozen = ? WHERE id = 1")
      .bind(next.replicas, next.lagMs, JSON.stringify([...new Set(next.frozen)].sort()))
      .run();
    await this.#configuration(true);
    // Other isolates (the stack's Worker) pick the change up within the cache lifetime.
    await sleep(CONFIG_TTL_MS + 20);
    return this.status();
  }

  // ---- bookmarks --------------------------------------------------------------------------

  async bookmarkFor(seq) {
    let bookmark = this.signed.get(seq);
    if (bookmark === undefined) {
      // Signing needs only the database's secret, which never changes once read.
      if (!this.key) await this.#configuration();
      bookmark = await signBookmark(this.key, this.databaseId, seq);
      this.signed.set(seq, bookmark);
      if (this.signed.size > 2000) this.signed.delete(this.signed.keys().next().value);
    }
    this.#know(bookmark, seq);
    return bookmark;
  }

  #know(bookmark, seq) {
    this.bookmarks.set(bookmark, seq);
    if (this.bookmarks.size > 2000) this.bookmarks.delete(this.bookmarks.keys().next().value);
    if (seq > this.knownHead) this.knownHead = seq;
  }

  /** Moves a session's bookmark forward (never back): bookmarks are monotonic within a session. */
  async #advance(session, seq) {
    if (seq === undefined || (session.state.seq !== undefined && seq <= session.state.seq)) return;
    session.state.seq = seq;
    session.state.bookmark = await this.bookmarkFor(seq);
  }

  /** Checks a session's starting point once, at its first query (D1 also fails at the query). */
  async #checkStart(session) {
    if (session.state.checked) return;
    const start = session.state.start;
    if (start === "first-unconstrained" || start === "first-primary") {
      session.state.checked = true;
      return;
    }
    const seq = this.bookmarks.get(start) ?? (await this.#verify(start));
    this.#know(start, seq);
    session.state.seq = seq;
    session.state.bookmark = start;
    session.state.checked = true;
  }

  /** The log position a bookmark names, if this database signed it; a D1_ERROR otherwise. */
  async #verify(bookmark) {
    if (typeof bookmark !== "string" || !BOOKMARK.test(bookmark)) {
      throw new D1Error(`invalid bookmark or constraint '${String(bookmark).slice(0, 80)}': expected first-primary, first-unconstrained or a bookmark`);
    }
    await this.#configuration();
    const seq = await readBookmark(this.key, this.databaseId, bookmark);
    if (seq === undefined) throw new D1Error("invalid bookmark: it was not issued by this database");
    // A signed bookmark ahead of the primary can only follow a restore to an earlier point: wait
    // briefly for the primary to reach it, then fail rather than read older data.
    const deadline = Date.now() + FUTURE_WAIT_MS;
    while (seq > this.knownHead && (await this.#head()) < seq) {
      if (Date.now() >= deadline) throw new D1Error("invalid bookmark: it is ahead of this database");
      await sleep(50);
    }
    return seq;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/** A statement that can only read: it may run on a replica. Anything else goes to the primary. */
function isReadOnly(sql) {
  const text = sql.replace(/^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, "");
  if (/^(SELECT|EXPLAIN)\b/i.test(text)) return !/\b(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(text) || /^EXPLAIN\b/i.test(text);
  if (/^WITH\b/i.test(text)) return !/\b(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(text);
  return false;
}

/** Splits log entries into runs that apply together: prepared statements batch, exec() stands alone. */
function runsOf(entries) {
  const runs = [];
  for (const entry of entries) {
    const exec = entry.statements[0]?.exec === true;
    const last = runs.at(-1);
    if (!exec && last && !last[0].statements[0]?.exec) last.push(entry);
    else runs.push([entry]);
  }
  return runs;
}

function runOn(db, kind, statements, options) {
  const inner = statements.map((s) => db.prepare(s.sql).bind(...s.params));
  if (kind === "batch") return db.batch(inner);
  const [statement] = inner;
  if (kind === "first") return statement.first(options);
  if (kind === "raw") return statement.raw(options);
  return kind === "run" ? statement.run() : statement.all();
}

/** Results run as a batch (a write with its log entry, a read with the head) in the shape the caller asked for. */
function shape(kind, results, options, target) {
  if (kind === "batch") return decorate(kind, results, target);
  const [result] = results;
  if (kind === "first") {
    const row = result.results[0];
    if (row === undefined) return null;
    if (options === undefined) return row;
    if (!(options in row)) throw new D1Error(`D1_COLUMN_NOTFOUND: Column not found (${options})`);
    return row[options];
  }
  if (kind === "raw") {
    const rows = result.results.map((row) => Object.values(row));
    return options?.columnNames ? [Object.keys(result.results[0] ?? {}), ...rows] : rows;
  }
  return decorate(kind, result, target);
}

/** The region of where a query ran: the primary's, or its replica's. */
function regionOf(target) {
  return target.primary ? PRIMARY_REGION : REPLICA_REGIONS[target.replica % REPLICA_REGIONS.length];
}

/** D1 reports where a query ran in meta.served_by_primary and meta.served_by_region. */
function decorate(kind, output, target) {
  if (kind === "first" || kind === "raw") return output;
  const region = regionOf(target);
  for (const result of Array.isArray(output) ? output : [output]) {
    if (result?.meta) {
      result.meta.served_by_primary = target.primary;
      result.meta.served_by_region = region;
      if (!target.primary) result.meta.served_by = `emulator.replica-${target.replica}`;
    }
  }
  return output;
}

function encodeValue(value) {
  if (value instanceof ArrayBuffer) return { $blob: [...new Uint8Array(value)] };
  if (ArrayBuffer.isView(value)) return { $blob: [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)] };
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

function decodeValue(value) {
  return value !== null && typeof value === "object" && Array.isArray(value.$blob) ? new Uint8Array(value.$blob).buffer : value;
}

const quote = (name) => `"${String(name).replace(/"/g, '""')}"`;
const sleep = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
