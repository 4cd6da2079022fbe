import type { Tracking } from "../../../shared/tracking";
import type { EntityDefinition } from "./definition";
import type { ListQuery } from "./list-query";
import type { Database } from "../env";
import { retryRead } from "../../../shared/d1-errors";

/** A stored record: its fields, its id, and its tracking block. */
export type StoredRecord = Record<string, unknown> & { id: string; tracking: Tracking };

const live = (def: EntityDefinition) => (def.softDelete ? " AND deleted_at IS NULL" : "") + (def.visible ? ` AND ${def.visible}` : "");

/** Reads one record that has not been (soft) deleted. */
export async function findLive(db: Database, def: EntityDefinition, id: string): Promise<StoredRecord | null> {
  const statement = db.prepare(`SELECT body FROM ${def.table} WHERE id = ?${live(def)}`).bind(id);
  const row = await retryRead(() => statement.first<{ body: string }>());
  return row ? (JSON.parse(row.body) as StoredRecord) : null;
}

export async function exists(db: Database, table: string, id: string, softDeleted: boolean): Promise<boolean> {
  const sql = `SELECT 1 FROM ${table} WHERE id = ?${softDeleted ? " AND deleted_at IS NULL" : ""}`;
  const statement = db.prepare(sql).bind(id);
  return (await retryRead(() => statement.first())) !== null;
}

export function insert(db: Database, def: EntityDefinition, record: StoredRecord): D1PreparedStatement {
  return db.prepare(`INSERT INTO ${def.table} (id, body) VALUES (?, ?)`).bind(record.id, JSON.stringify(record));
}

/** Replaces a record only if it is still at `expectedVersion` — the optimistic-concurrency check. */
export function replace(db: Database, def: EntityDefinition, record: StoredRecord, expectedVersion: number): D1PreparedStatement {
  return db
    .prepare(`UPDATE ${def.table} SET body = ? WHERE id = ? AND json_extract(body, '$.tracking.version') = ?${live(def)}`)
    .bind(JSON.stringify(record), record.id, expectedVersion);
}

export function remove(db: Database, def: EntityDefinition, id: string): D1PreparedStatement[] {
  return [
    ...(def.cascade ?? []).map((c) => db.prepare(`DELETE FROM ${c.table} WHERE ${c.column} = ?`).bind(id)),
    db.prepare(`DELETE FROM ${def.table} WHERE id = ?`).bind(id),
  ];
}

/** One keyset page: rows strictly after the cursor in (sort column, id) order, plus one to tell if more follow. */
export async function list(db: Database, def: EntityDefinition, query: ListQuery) {
  const { sql, params } = listStatement(def, query);
  const statement = db.prepare(sql).bind(...params);
  const { results } = await retryRead(() => statement.all<{ body: string; sort_key: string }>());
  return results;
}

/** The SQL and parameters of one list page (separate from running it, so tests can check its query plan). */
export function listStatement(def: EntityDefinition, query: ListQuery): { sql: string; params: unknown[] } {
  // A prefix is a range: from the text itself to the text followed by the highest character.
  const conditions = query.where.map((w) => (w.prefix ? `${w.column} >= ? AND ${w.column} < ?` : `${w.column} = ?`));
  const params: unknown[] = query.where.flatMap((w) => (w.prefix ? [w.value, `${w.value}\u{10FFFF}`] : [w.value]));
  if (def.visible) conditions.unshift(def.visible);
  if (def.softDelete) conditions.unshift("deleted_at IS NULL");
  const direction = query.descending ? "DESC" : "ASC";
  const byId = query.sortColumn === "id";
  if (query.after) {
    const op = query.descending ? "<" : ">";
    // A row-value comparison: SQLite turns it into a range on the (…, column, id) index.
    if (byId) conditions.push(`id ${op} ?`);
    else conditions.push(`(${query.sortColumn}, id) ${op} (?, ?)`);
    params.push(...(byId ? [query.after.id] : [query.after.value, query.after.id]));
  }
  const order = byId ? `id ${direction}` : `${query.sortColumn} ${direction}, id ${direction}`;
  const sql =
    `SELECT body, ${query.sortColumn} AS sort_key FROM ${def.table}` +
    (conditions.length ? ` WHERE ${conditions.join(" AND ")}` : "") +
    ` ORDER BY ${order} LIMIT ?`;
  params.push(query.limit + 1);
  return { sql, params };
}

/** The audit trail row for one change, written in the same batch as the change itself. */
export function auditEvent(db: Database, entity: string, record: StoredRecord, action: "created" | "updated" | "deleted", actor: string) {
  const event = {
    id: crypto.randomUUID(),
    entity,
    entityId: record.id,
    action,
    actor,
    at: record.tracking.updatedAt,
    version: record.tracking.version,
  };
  return db.prepare("INSERT INTO audit_events (id, body) VALUES (?, ?)").bind(event.id, JSON.stringify(event));
}
