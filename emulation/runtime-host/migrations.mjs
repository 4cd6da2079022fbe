// Applies a wrangler-format migrations folder (NNNN_name.sql, in order) to a D1 database and records
// each in wrangler's own table, d1_migrations, so `wrangler d1 migrations apply` agrees with us.
// Each migration runs as one D1 batch: it applies whole or not at all, so a crash mid-way is retried.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** @param d1 {{ query(sql, params?): Promise<{results: any[]}>, batch(statements): Promise<unknown> }} */
export async function applyMigrations(d1, dir) {
  await d1.query(
    "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
  );
  const done = new Set((await d1.query("SELECT name FROM d1_migrations")).results.map((r) => r.name));
  const applied = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    if (done.has(file)) continue;
    const statements = splitStatements(readFileSync(path.join(dir, file), "utf8"));
    await d1.batch([
      ...statements.map((sql) => ({ sql })),
      { sql: "INSERT INTO d1_migrations (name) VALUES (?)", params: [file] },
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
