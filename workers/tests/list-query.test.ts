import { test } from "node:test";
import assert from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import { MAX_PAGE, encodeCursor, parseListQuery } from "../account/src/entities/list-query";
import { clients } from "../account/src/entities/catalog";
import { listStatement } from "../account/src/entities/store";

/** The 400 a bad list request gets: its JSON body. */
async function refusal(params: Record<string, string>) {
  try {
    parseListQuery(clients, params);
  } catch (error) {
    assert.ok(error instanceof HTTPException);
    const response = error.getResponse();
    assert.equal(response.status, 400);
    return (await response.json()) as { error: string; message: string; field: string };
  }
  assert.fail(`accepted ${JSON.stringify(params)}`);
}

test("filters, sort and page size become columns and bounds", () => {
  const query = parseListQuery(clients, { status: "active", sort: "-createdAt", limit: "10" });
  assert.deepEqual(query.where, [{ column: "status", value: "active" }]);
  assert.equal(query.sortColumn, "created_at");
  assert.equal(query.descending, true);
  assert.equal(query.limit, 10);
  assert.equal(query.after, undefined);
});

test("without parameters: the entity's default sort, ascending, a page of 50", () => {
  const query = parseListQuery(clients, {});
  assert.equal(query.sortField, "name");
  assert.equal(query.descending, false);
  assert.equal(query.limit, 50);
});

test("a cursor continues the sort it was issued for, and only that one", async () => {
  const cursor = encodeCursor("name", "Ada", "c-1");
  assert.deepEqual(parseListQuery(clients, { cursor }).after, { value: "Ada", id: "c-1" });
  assert.match((await refusal({ cursor, sort: "-name" })).message, /^cursor: was issued for sort=name, not sort=-name/);
  assert.equal((await refusal({ cursor: "not-a-cursor" })).field, "cursor");
  assert.equal((await refusal({ cursor: btoa(JSON.stringify(["name", 1, "x"])) })).field, "cursor");
});

test("anything the entity does not allow is a 400 naming the parameter", async () => {
  const unknown = await refusal({ colour: "red" });
  assert.equal(unknown.field, "colour");
  assert.match(unknown.message, /filters: status, assignedTo, email/);
  assert.equal((await refusal({ status: "deleted" })).field, "status");
  assert.equal((await refusal({ sort: "secret" })).field, "sort");
  for (const limit of ["0", String(MAX_PAGE + 1), "1.5", "ten", "-1"]) {
    assert.equal((await refusal({ limit })).field, "limit", limit);
  }
});

test("a name search is a range on the name's index, listed by name; another order with it is refused, naming the sort", async () => {
  const query = parseListQuery(clients, { nameStartsWith: "Smi", status: "active", sort: "-name" });
  assert.deepEqual(query.where, [{ column: "name", value: "Smi", prefix: true }, { column: "status", value: "active" }]);
  assert.equal(query.descending, true);
  assert.equal(query.sortColumn, "name");
  const { sql, params } = listStatement(clients, query);
  assert.match(sql, /name >= \? AND name < \?/);
  assert.match(sql, /ORDER BY name DESC, id DESC/);
  assert.deepEqual(params.slice(0, 2), ["Smi", "Smi\u{10FFFF}"]);
  const refused = await refusal({ nameStartsWith: "Smi", sort: "-createdAt" });
  assert.equal(refused.field, "sort");
  assert.match(refused.message, /sort=name or sort=-name/);
  assert.equal((await refusal({ nameStartsWith: "" })).field, "nameStartsWith");
});
