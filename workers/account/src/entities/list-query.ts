import { HTTPException } from "hono/http-exception";
import type { EntityDefinition } from "./definition";

export const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;

/** A parsed list request: equality filters, one sort key, a page size and where to continue. */
export interface ListQuery {
  where: { column: string; value: string; prefix?: boolean }[];
  sortField: string;
  sortColumn: string;
  descending: boolean;
  limit: number;
  after?: { value: string; id: string };
}

function badRequest(field: string, message: string): never {
  throw new HTTPException(400, {
    res: Response.json({ error: "validation_failed", message: `${field}: ${message}`, field }, { status: 400 }),
  });
}

/** Parses ?filter=…&sort=[-]field&limit=n&cursor=… against what the entity allows; anything else is a 400. */
export function parseListQuery(def: EntityDefinition, params: Record<string, string>): ListQuery {
  const where: ListQuery["where"] = [];
  for (const [name, value] of Object.entries(params)) {
    if (name === "sort" || name === "limit" || name === "cursor") continue;
    const filter = def.filters[name];
    if (!filter) badRequest(name, `not a filter of ${def.name}; filters: ${Object.keys(def.filters).join(", ") || "none"}`);
    const parsed = filter.schema.safeParse(value);
    if (!parsed.success) badRequest(name, parsed.error.issues[0]?.message ?? "invalid");
    where.push({ column: filter.column, value: parsed.data, ...(filter.prefix ? { prefix: true } : {}) });
  }

  const sortParam = params.sort ?? def.defaultSort;
  const descending = sortParam.startsWith("-");
  const sortField = descending ? sortParam.slice(1) : sortParam;
  const sortColumn = def.sorts[sortField];
  if (!sortColumn) badRequest("sort", `${def.name} sort by ${Object.keys(def.sorts).join(", ")} (prefix - for descending)`);
  const search = Object.entries(def.filters).find(([name, filter]) => filter.prefix && params[name] !== undefined);
  if (search && search[1].column !== sortColumn) {
    const sortName = Object.entries(def.sorts).find(([, column]) => column === search[1].column)?.[0];
    badRequest("sort", `with ${search[0]}, ${def.name} are listed by ${sortName}: sort=${sortName} or sort=-${sortName}`);
  }

  let limit = DEFAULT_PAGE;
  if (params.limit !== undefined) {
    limit = Number(params.limit);
    if (!/^\d+$/.test(params.limit) || limit < 1 || limit > MAX_PAGE) badRequest("limit", `must be a whole number from 1 to ${MAX_PAGE}`);
  }

  const after = params.cursor === undefined ? undefined : decodeCursor(params.cursor, sortParam);
  return { where, sortField, sortColumn, descending, limit, after };
}

/**
 * The cursor of the page after one (null when it is the last): `rows` are what the list read, one more
 * than the page when there is more; `lastId` is the id of the page's last record.
 */
export function nextCursor(query: ListQuery, rows: { sort_key: string }[], lastId: string | undefined): string | null {
  const last = rows[query.limit - 1];
  if (rows.length <= query.limit || !last || lastId === undefined) return null;
  return encodeCursor(query.descending ? `-${query.sortField}` : query.sortField, last.sort_key, lastId);
}

/** Cursors are opaque to callers: the last row's sort value and id, and the sort they belong to. */
export function encodeCursor(sort: string, value: string, id: string): string {
  return btoa(JSON.stringify([sort, value, id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string, sort: string): { value: string; id: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    badRequest("cursor", "not a cursor this API issued");
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || !decoded.every((v) => typeof v === "string")) {
    badRequest("cursor", "not a cursor this API issued");
  }
  const [cursorSort, value, id] = decoded as [string, string, string];
  if (cursorSort !== sort) badRequest("cursor", `was issued for sort=${cursorSort}, not sort=${sort}`);
  return { value, id };
}
