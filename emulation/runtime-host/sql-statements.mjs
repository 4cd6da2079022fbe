// The one statement splitter: for migration files (applied by the control entrypoint) and for SQL
// sent to the local Cloudflare API's D1 query route (several statements, as D1's HTTP API takes).
// Loaded into every stack's Worker beside control-entrypoint.js, and imported by its unit tests.

/**
 * Splits on semicolons that end a line, after dropping full-line `--` comments. A semicolon at the
 * end of a line inside a string literal would split it too: migrations and the operator's SQL here
 * do not have one, and a real parser is not worth its size in every stack.
 */
export function splitStatements(sql) {
  return sql
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}
