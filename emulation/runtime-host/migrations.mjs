// Reads a wrangler-format migrations folder (NNNN_name.sql, in order). The stack's control entrypoint
// applies them (control-entrypoint.js): each as one D1 batch with its record in wrangler's own table,
// d1_migrations, so `wrangler d1 migrations apply` agrees with us, and a crash mid-way is retried.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Sends every migration file's SQL (the entrypoint splits it: sql-statements.mjs) and returns the
 * names applied now. @param d1 {{ migrate(migrations): Promise<{applied: string[]}> }}
 */
export async function applyMigrations(d1, dir) {
  const migrations = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((name) => ({ name, sql: readFileSync(path.join(dir, name), "utf8") }));
  if (migrations.length === 0) return [];
  return (await d1.migrate(migrations)).applied;
}
