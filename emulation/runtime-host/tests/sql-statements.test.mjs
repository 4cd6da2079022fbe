import { test } from "node:test";
import assert from "node:assert/strict";
import { splitStatements } from "../sql-statements.mjs";

test("statements end at a semicolon that ends a line; full-line comments go", () => {
  const sql = "-- a migration\nCREATE TABLE a (id TEXT);\n\n-- its index\nCREATE INDEX a_id ON a (id);\nINSERT INTO a VALUES ('x')";
  assert.deepEqual(splitStatements(sql), ["CREATE TABLE a (id TEXT)", "CREATE INDEX a_id ON a (id)", "INSERT INTO a VALUES ('x')"]);
});

test("a statement over several lines, or with a semicolon inside a line, stays whole", () => {
  assert.deepEqual(splitStatements("SELECT 1,\n  2\nFROM t;"), ["SELECT 1,\n  2\nFROM t"]);
  assert.deepEqual(splitStatements("SELECT ';' AS s;  \nSELECT 2;"), ["SELECT ';' AS s", "SELECT 2"]);
});

test("nothing but comments and blank lines is no statement", () => {
  assert.deepEqual(splitStatements("-- only a comment\n\n   \n"), []);
  assert.deepEqual(splitStatements(""), []);
});
