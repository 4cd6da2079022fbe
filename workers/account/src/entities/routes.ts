import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import * as z from "zod/mini";
import { newTracking, nextTracking } from "../../../shared/tracking";
import { problem, readJsonObject, validationError } from "../../../shared/http";
import { isAllowed, type Action } from "../auth/permissions";
import type { AccountContext } from "../env";
import { Id } from "../models/common";
import type { EntityDefinition } from "./definition";
import { nextCursor, parseListQuery } from "./list-query";
import { auditEvent, exists, findLive, insert, list, remove, replace, type StoredRecord } from "./store";

type Ctx = Context<AccountContext>;

export const etag = (version: number) => `"${version}"`;

/** Most records one batch request may create. */
export const MAX_BATCH = 100;

export function fail(status: 400 | 403 | 404 | 409 | 412 | 428, error: string, field: string, message: string): never {
  throw new HTTPException(status, { res: Response.json({ error, message: `${field}: ${message}`, field }, { status }) });
}

export function requireAllowed(c: Ctx, def: EntityDefinition, action: Action) {
  const principal = c.get("principal");
  if (!isAllowed(principal, def.name, def.permissions[action])) {
    const who = principal.kind === "platform" ? "the platform" : `role ${principal.role}`;
    fail(403, "forbidden", "role", `${who} may not ${action} ${def.name}`);
  }
}

function pathId(c: Ctx): string {
  const parsed = Id.safeParse(c.req.param("id"));
  if (!parsed.success) fail(400, "validation_failed", "id", "must be a UUID");
  return parsed.data;
}

/** The version a write is based on, from If-Match: "n". Required for updates, optional for deletes. */
function ifMatch(c: Ctx, required: boolean): number | undefined {
  const header = c.req.header("if-match");
  if (header === undefined) {
    if (required) fail(428, "precondition_required", "if-match", 'send the version you are changing, e.g. If-Match: "3" (the ETag of your last read)');
    return undefined;
  }
  const match = header.match(/^(?:W\/)?"(\d+)"$/);
  if (!match) fail(400, "validation_failed", "if-match", 'must be an ETag such as "3"');
  return Number(match[1]);
}

/**
 * Every reference the record makes must name a live record. `known` remembers targets already
 * found (a batch of 100 tasks for one case checks the case once); `prefix` places the field in a batch.
 */
export async function checkReferences(
  c: Ctx,
  def: EntityDefinition,
  record: Record<string, unknown>,
  changed?: Set<string>,
  known = new Set<string>(),
  prefix = "",
) {
  for (const ref of def.references ?? []) {
    const value = record[ref.field];
    if (value === undefined || (changed && !changed.has(ref.field))) continue;
    const table = typeof ref.table === "function" ? ref.table(record) : ref.table;
    const key = `${table}/${value as string}`;
    if (known.has(key)) continue;
    if (!(await exists(c.var.db, table, value as string, ref.softDeleted ?? false))) {
      fail(400, "unknown_reference", prefix + ref.field, `no ${table} record ${value as string}`);
    }
    known.add(key);
  }
}

/** Runs the statements of one write as one D1 batch (a transaction); a unique violation becomes a 409. */
async function commit(c: Ctx, def: EntityDefinition, statements: D1PreparedStatement[]) {
  try {
    return await c.var.db.batch(statements);
  } catch (error) {
    const message = (error as Error).message;
    const column = message.match(/UNIQUE constraint failed: \w+\.(\w+)/)?.[1];
    if (column) {
      const field = def.unique?.[column] ?? column;
      fail(409, "conflict", field, `another ${def.name} record already has this ${field}`);
    }
    throw error;
  }
}

function parseInput(def: EntityDefinition, raw: Record<string, unknown>) {
  const parsed = def.input.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error, "body");
  return parsed.data as Record<string, unknown>;
}

export function actorOf(c: Ctx) {
  return c.get("principal").id;
}

/** create / get / update / delete / list for one entity, with permissions, concurrency, soft delete and audit. */
export function entityRoutes(def: EntityDefinition) {
  const ops = { create: true, update: true, delete: true, ...def.operations };
  const app = new Hono<AccountContext>();

  app.get("/", async (c) => {
    requireAllowed(c, def, "read");
    const query = parseListQuery(def, c.req.query());
    const rows = await list(c.var.db, def, query);
    const items = rows.slice(0, query.limit).map((r) => JSON.parse(r.body) as StoredRecord);
    return c.json({ items, nextCursor: nextCursor(query, rows, items.at(-1)?.id) });
  });

  app.get("/:id", async (c) => {
    requireAllowed(c, def, "read");
    const id = pathId(c);
    const record = await findLive(c.var.db, def, id);
    if (!record) return problem(c, 404, "not_found", `id: no ${def.name} record ${id}`, "id");
    return c.json(record, 200, { etag: etag(record.tracking.version) });
  });

  if (ops.create) {
    app.post("/", async (c) => {
      requireAllowed(c, def, "write");
      const raw = await readJsonObject(c);
      const input = parseInput(def, { ...def.defaults, ...raw });
      await checkReferences(c, def, input);
      const record: StoredRecord = { ...input, id: crypto.randomUUID(), tracking: newTracking(c.env.ACCOUNT_ID, actorOf(c)) };
      const statements = [insert(c.var.db, def, record)];
      if (def.audited) statements.push(auditEvent(c.var.db, def.name, record, "created", actorOf(c)));
      await commit(c, def, statements);
      await def.afterWrite?.(c.env, record.id);
      return c.json(record, 201, { etag: etag(1), location: `/api/${def.name}/${record.id}` });
    });
  }

  if (ops.create) {
    // Up to MAX_BATCH records in one request, all or nothing: one D1 batch, so one transaction.
    // For onboarding a firm's existing data (and for seeding demo and load-test accounts).
    app.post("/batch", async (c) => {
      requireAllowed(c, def, "write");
      const raw = await readJsonObject(c);
      const items = raw.items;
      if (!Array.isArray(items) || items.length === 0) fail(400, "validation_failed", "items", "must be a non-empty array");
      if (items.length > MAX_BATCH) fail(400, "validation_failed", "items", `at most ${MAX_BATCH} records per batch, got ${items.length}`);
      const checked = new Set<string>();
      const records: StoredRecord[] = [];
      for (const [index, item] of items.entries()) {
        if (typeof item !== "object" || item === null || Array.isArray(item)) fail(400, "validation_failed", `items.${index}`, "must be a JSON object");
        const parsed = def.input.safeParse({ ...def.defaults, ...item });
        if (!parsed.success) throw validationError(parsed.error, "body", `items.${index}`);
        const input = parsed.data as Record<string, unknown>;
        await checkReferences(c, def, input, undefined, checked, `items.${index}.`);
        records.push({ ...input, id: crypto.randomUUID(), tracking: newTracking(c.env.ACCOUNT_ID, actorOf(c)) });
      }
      const statements = records.flatMap((record) => [
        insert(c.var.db, def, record),
        ...(def.audited ? [auditEvent(c.var.db, def.name, record, "created", actorOf(c))] : []),
      ]);
      await commit(c, def, statements);
      await Promise.all(records.map((r) => def.afterWrite?.(c.env, r.id)));
      return c.json({ items: records }, 201);
    });
  }

  if (ops.update) {
    app.patch("/:id", async (c) => {
      requireAllowed(c, def, "write");
      const id = pathId(c);
      const expected = ifMatch(c, true)!;
      const raw = await readJsonObject(c);
      const patch = z.partial(def.input).safeParse(raw);
      if (!patch.success) throw validationError(patch.error, "body");
      const changed = new Set(Object.keys(patch.data));
      if (changed.size === 0) fail(400, "validation_failed", "body", "no fields to change");

      const current = await findLive(c.var.db, def, id);
      if (!current) return problem(c, 404, "not_found", `id: no ${def.name} record ${id}`, "id");
      if (current.tracking.version !== expected) {
        fail(412, "version_mismatch", "if-match", `the record is at version ${current.tracking.version}, not ${expected}; read it again`);
      }
      // Fields outside the input schema (e.g. a document's checksum) are the system's: kept as they are.
      const { id: _id, tracking, ...fields } = current;
      const editable = new Set(Object.keys(def.input.shape));
      const system = Object.fromEntries(Object.entries(fields).filter(([k]) => !editable.has(k)));
      const kept = Object.fromEntries(Object.entries(fields).filter(([k]) => editable.has(k)));
      const input = parseInput(def, { ...kept, ...patch.data });
      await checkReferences(c, def, input, changed);
      const record: StoredRecord = { ...system, ...input, id, tracking: nextTracking(tracking, actorOf(c)) };
      const statements = [replace(c.var.db, def, record, expected)];
      if (def.audited) statements.push(auditEvent(c.var.db, def.name, record, "updated", actorOf(c)));
      const [result] = await commit(c, def, statements);
      // Someone else wrote between our read and our write: the guarded UPDATE changed nothing.
      if (!result?.meta.changes) fail(412, "version_mismatch", "if-match", "the record changed while this update was in flight; read it again");
      await def.afterWrite?.(c.env, id);
      return c.json(record, 200, { etag: etag(record.tracking.version) });
    });
  }

  if (ops.delete) {
    app.delete("/:id", async (c) => {
      requireAllowed(c, def, "delete");
      const id = pathId(c);
      const expected = ifMatch(c, false);
      const current = await findLive(c.var.db, def, id);
      if (!current) return problem(c, 404, "not_found", `id: no ${def.name} record ${id}`, "id");
      if (expected !== undefined && current.tracking.version !== expected) {
        fail(412, "version_mismatch", "if-match", `the record is at version ${current.tracking.version}, not ${expected}; read it again`);
      }
      if (def.softDelete) {
        const tracking = nextTracking(current.tracking, actorOf(c));
        const record: StoredRecord = { ...current, tracking: { ...tracking, deletedAt: tracking.updatedAt, deletedBy: actorOf(c) } };
        const statements = [replace(c.var.db, def, record, current.tracking.version)];
        if (def.audited) statements.push(auditEvent(c.var.db, def.name, record, "deleted", actorOf(c)));
        const [result] = await commit(c, def, statements);
        if (!result?.meta.changes) fail(412, "version_mismatch", "if-match", "the record changed while this delete was in flight; read it again");
      } else {
        await commit(c, def, remove(c.var.db, def, id));
      }
      await def.afterWrite?.(c.env, id);
      return c.body(null, 204);
    });
  }

  // Operations an entity does not offer answer 405 with the reason, not a bare 404.
  const refuse = (what: string) => (c: Ctx) =>
    problem(c, 405, "method_not_allowed", `method: ${def.name} cannot be ${what}${def.name === "users" && what === "deleted" ? "; disable the user instead (status)" : ""}`, "method");
  if (!ops.create) app.post("/", refuse("created through this route"));
  if (!ops.update) app.patch("/:id", refuse("changed"));
  if (!ops.delete) app.delete("/:id", refuse("deleted"));

  return app;
}
