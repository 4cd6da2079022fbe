// Applies a wrangler-format migrations folder (NNNN_name.sql, in order) to a D1 database and records
// each in wrangler's own table, d1_migrations, so `wrangler d1 migrations apply` agrees with us.
// Each migration runs as one D1 batch: it applies whole or not at all, so a crash mid-way is retried.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export async function applyMigrations(db, dir) {
  await db
    .prepare(
      "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .run();
  const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
  const applied = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    if (done.has(file)) continue;
    const statements = splitStatements(readFileSync(path.join(dir, file), "utf8"));
    await db.batch([
      ...statements.map((sql) => db.prepare(sql)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(file),
    ]);
    applied.push(file);
  }
  return applied;
}

/** Splits on semicolons that end a line, after dropping full-line `--` comments. */
export function splitStatements(sql) {
  return sql
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}
