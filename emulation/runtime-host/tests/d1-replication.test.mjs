// The emulated read replication (d1-replication.js) on real workerd: one small Miniflare instance
// with a Worker bound to a replicated D1, as every stack's is (stacks.mjs replicatedD1). Each test
// runs one scenario inside that Worker and checks what its sessions saw.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { replicatedD1, MAX_REPLICAS } from "../stacks.mjs";

const workersDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../workers");
const { Miniflare } = createRequire(path.join(workersDir, "package.json"))("miniflare");

// Scenarios run inside the Worker: the binding's objects (sessions, statements) live there.
const SCENARIOS = `
const control = (db) => db[Symbol.for("cloudflare-emulator.d1-replication")];
const count = async (session) => {
  const result = await session.prepare("SELECT count(*) AS n FROM notes").all();
  return { n: result.results[0].n, primary: result.meta.served_by_primary };
};
const scenarios = {
  // A write's bookmark makes a later session read it, though the replicas lag behind.
  async readYourWrites(db) {
    await control(db).configure({ replicas: 2, lagMs: 1000, frozen: [] });
    // The replicas catch up to the table as it is (one that has applied nothing serves nothing).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (let i = 0; i < 6; i++) await count(db.withSession("first-unconstrained"));
    const writer = db.withSession("first-primary");
    await writer.prepare("INSERT INTO notes (body) VALUES ('one')").run();
    const bookmark = writer.getBookmark();
    // Unconstrained first: a bookmarked read makes the replica it lands on catch up.
    const unconstrained = [];
    for (let i = 0; i < 6; i++) unconstrained.push(await count(db.withSession("first-unconstrained")));
    const withBookmark = await count(db.withSession(bookmark));
    return { bookmark, withBookmark, unconstrained };
  },
  // Bookmarks only move forward within a session, and a later write's bookmark is greater.
  async monotonic(db) {
    await control(db).configure({ replicas: 1, lagMs: 0, frozen: [] });
    const session = db.withSession("first-primary");
    await session.prepare("INSERT INTO notes (body) VALUES ('a')").run();
    const first = session.getBookmark();
    await session.prepare("SELECT 1").all();
    const afterRead = session.getBookmark();
    await session.prepare("INSERT INTO notes (body) VALUES ('b')").run();
    return { first, afterRead, afterWrite: session.getBookmark() };
  },
  // A frozen replica cannot catch up to a bookmark: the read goes to the primary instead.
  async frozen(db) {
    await control(db).configure({ replicas: 1, lagMs: 0, frozen: [0] });
    const writer = db.withSession("first-primary");
    await writer.prepare("INSERT INTO notes (body) VALUES ('frozen out')").run();
    return { withBookmark: await count(db.withSession(writer.getBookmark())), status: await control(db).status() };
  },
  // A bookmark this database did not sign is an error, as at D1.
  async forged(db) {
    try {
      await db.withSession("00000001-00000000-00000001-" + "0".repeat(32)).prepare("SELECT 1").all();
      return { refused: false };
    } catch (error) {
      return { refused: true, message: String(error.message) };
    }
  },
  // At its size limit, a database refuses writes as D1 does, before any of it runs; reads go on.
  async sizeLimit(db) {
    const limit = db[Symbol.for("cloudflare-emulator.binding")].limit;
    const count = async () => (await db.prepare("SELECT count(*) AS n FROM notes").first()).n;
    await db.prepare("INSERT INTO notes (body) VALUES (?)").bind("x".repeat(1000)).run();
    limit.set({ maxSizeBytes: 64 * 1024 });
    let error;
    let written = 0;
    for (let i = 0; i < 500 && !error; i++) {
      try {
        await db.batch([db.prepare("INSERT INTO notes (body) VALUES (?)").bind("y".repeat(1000)), db.prepare("INSERT INTO notes (body) VALUES ('second')")]);
        written++;
      } catch (e) {
        error = e;
      }
    }
    const before = await count();
    let again;
    try { await db.prepare("INSERT INTO notes (body) VALUES ('z')").run(); } catch (e) { again = e.message; }
    const after = await count();
    limit.set({ maxSizeBytes: null });
    await db.prepare("INSERT INTO notes (body) VALUES ('free again')").run();
    return { written, message: error?.message, cause: error?.cause?.message, again, before, after, freed: await count() };
  },
  // Usage counts the Worker's statements with D1's rows read and written: not the emulator's own.
  async usage(db) {
    const usage = db[Symbol.for("cloudflare-emulator.binding")].usage;
    const before = { ...usage };
    await db.batch([db.prepare("INSERT INTO notes (body) VALUES ('a')"), db.prepare("INSERT INTO notes (body) VALUES ('b')")]);
    const first = await db.prepare("SELECT body FROM notes ORDER BY id").first("body");
    await db.withSession("first-primary").prepare("SELECT * FROM notes").all();
    const after = { ...usage };
    return { first, queries: after.queries - before.queries, rowsRead: after.rowsRead - before.rowsRead, rowsWritten: after.rowsWritten - before.rowsWritten };
  },
  async settings(db) {
    const errors = [];
    for (const settings of [{ replicas: ${MAX_REPLICAS} + 1 }, { lagMs: -1 }]) {
      try { await control(db).configure(settings); } catch (error) { errors.push(error.message); }
    }
    return { errors };
  },
};
export default {
  async fetch(request, env) {
    const name = new URL(request.url).pathname.slice(1);
    await env.DB.prepare("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)").run();
    await env.DB.prepare("DELETE FROM notes").run();
    return Response.json(await scenarios[name](env.DB));
  },
};`;

let mf;
before(async () => {
  const { bindings, worker } = replicatedD1({ DB: "notes-db" }, MAX_REPLICAS);
  mf = new Miniflare({
    workers: [
      { name: "main", modules: [{ type: "ESModule", path: "main.js", contents: SCENARIOS }], compatibilityDate: "2026-07-01", wrappedBindings: bindings },
      // A wrapped binding takes the compatibility date of the Worker that binds it.
      worker,
    ],
  });
  await mf.ready;
});
after(() => mf?.dispose());

async function run(scenario) {
  const response = await mf.dispatchFetch(`http://localhost/${scenario}`);
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

test("a session started from a write's bookmark reads that write; one without may read a lagging replica", { timeout: 30_000 }, async () => {
  const { bookmark, withBookmark, unconstrained } = await run("readYourWrites");
  assert.match(bookmark, /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
  assert.equal(withBookmark.n, 1);
  // A minute's lag: every read a replica served is stale, and some were served by one.
  const byReplica = unconstrained.filter((r) => !r.primary);
  assert.ok(byReplica.length > 0, JSON.stringify(unconstrained));
  assert.ok(byReplica.every((r) => r.n === 0), JSON.stringify(unconstrained));
});

test("a session's bookmark never goes back, and each write moves it on", { timeout: 30_000 }, async () => {
  const { first, afterRead, afterWrite } = await run("monotonic");
  assert.ok(afterRead >= first, `${afterRead} < ${first}`);
  assert.ok(afterWrite > afterRead, `${afterWrite} <= ${afterRead}`);
});

test("a frozen replica hands a bookmarked read to the primary", { timeout: 30_000 }, async () => {
  const { withBookmark, status } = await run("frozen");
  assert.deepEqual(withBookmark, { n: 1, primary: true });
  assert.deepEqual(status.frozen, [0]);
});

test("a bookmark the database did not sign is refused", { timeout: 30_000 }, async () => {
  const { refused, message } = await run("forged");
  assert.equal(refused, true);
  assert.match(message, /not issued by this database/);
});

test("a database at its size limit refuses writes as D1 does and keeps nothing of them; lifted, it takes them again", { timeout: 30_000 }, async () => {
  const { written, message, cause, again, before, after, freed } = await run("sizeLimit");
  assert.ok(written > 5 && written < 500, `written ${written}`);
  assert.equal(message, "D1_ERROR: Exceeded maximum DB size");
  assert.equal(cause, "Exceeded maximum DB size");
  assert.equal(again, "D1_ERROR: Exceeded maximum DB size");
  assert.equal(after, before);
  assert.equal(freed, before + 1);
});

test("settings out of range are refused naming the setting", { timeout: 30_000 }, async () => {
  const { errors } = await run("settings");
  assert.match(errors[0], /^replicas: between 0 and/);
  assert.match(errors[1], /^lagMs: between 0 and/);
});

test("usage counts the Worker's statements with the rows D1 reports read and written, not the emulator's own", { timeout: 30_000 }, async () => {
  const { first, queries, rowsRead, rowsWritten } = await run("usage");
  assert.equal(first, "a");
  assert.equal(queries, 4);
  assert.equal(rowsWritten, 2);
  // first() reads both rows (no LIMIT), the session's read both again.
  assert.equal(rowsRead, 4);
});
