// Error responses shared by every Worker: a 4xx names the field at fault, and nothing — not even an
// unexpected exception — answers with a stack trace.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod/mini";
import "./validation";
import { isFullD1Error, isUnavailableD1Error } from "./d1-errors";
import { r2ServiceError } from "./storage-errors";

/** D1 read replication's bookmark, as callers send and receive it (account sessions.ts; the platform keeps a browser's). */
export const BOOKMARK_HEADER = "x-d1-bookmark";

/** A submitted form's text fields, trimmed, the empty ones left out (an optional field left blank is not sent). */
export async function formValues(request: { parseBody(): Promise<Record<string, string | File>> }): Promise<Record<string, string>> {
  const body = await request.parseBody();
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string" && value.trim() !== "") values[name] = value.trim();
  }
  return values;
}

export interface Problem {
  error: string;
  message: string;
  field?: string;
}

export function problem(c: Context, status: ContentfulStatusCode, error: string, message: string, field?: string) {
  const body: Problem = field === undefined ? { error, message } : { error, message, field };
  return c.json(body, status);
}

/** Parses a JSON request body against a schema, or throws a 400 that names the offending field. */
export async function readJson<T extends z.ZodMiniType>(c: Context, schema: T): Promise<z.infer<T>> {
  const raw = await readJsonObject(c);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error, "body");
  return parsed.data;
}

/** Reads a request body that must be a JSON object (not an array, string or null). */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HTTPException(400, { res: Response.json({ error: "invalid_json", message: "body: not valid JSON", field: "body" }, { status: 400 }) });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new HTTPException(400, { res: Response.json({ error: "validation_failed", message: "body: must be a JSON object", field: "body" }, { status: 400 }) });
  }
  return raw as Record<string, unknown>;
}

/** A 400 for the first zod issue, naming its field (for an unknown key, the key itself). */
export function validationError(error: z.core.$ZodError, fallbackField: string, prefix?: string): HTTPException {
  const issue = error.issues[0];
  const path = [...(prefix ? [prefix] : []), ...(issue?.path.map(String) ?? [])];
  if (issue?.code === "unrecognized_keys" && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const field = path.length > 0 ? path.join(".") : fallbackField;
  return new HTTPException(400, {
    res: Response.json({ error: "validation_failed", message: `${field}: ${issue?.message ?? "invalid"}`, field }, { status: 400 }),
  });
}

/** Hono onError: known HTTP errors pass through; anything else is logged and hidden. */
export function onError(err: Error, c: Context) {
  if (err instanceof HTTPException) return err.getResponse();
  // D1 cannot serve now (overloaded, reset, unreachable after the retries): the caller may retry soon.
  if (isUnavailableD1Error(err)) {
    console.error(`database unavailable on ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
    c.header("retry-after", "1");
    return problem(c, 503, "database_unavailable", "the database is busy or restarting; retry in a moment");
  }
  // R2 failing (or refusing more writes to one key): the caller may retry soon.
  const storage = r2ServiceError(err);
  if (storage) {
    console.error(`storage unavailable on ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
    c.header("retry-after", "1");
    return problem(c, storage.status, storage.error, `document storage is ${storage.status === 429 ? "busy with writes to this object" : "unavailable"} (R2 ${storage.code}); retry in a moment`);
  }
  if (isFullD1Error(err)) {
    console.error(`database full on ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
    return problem(c, 507, "database_full", "the database has reached its size limit; nothing was written");
  }
  console.error(`unhandled error on ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
  return problem(c, 500, "internal_error", "the request could not be completed");
}

export function notFound(c: Context) {
  return problem(c, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
}

/** Unread request bodies up to this size are read to the end before answering (see drainUnreadBody). */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * An answer sent before the request body was read (a 401, a 403, a 400 on the query) leaves the
 * rest of the body on the connection, which then cannot be reused: the caller's next request on it
 * fails ("Network connection lost"). Reading small leftovers keeps callers' connections healthy.
 */
export const drainUnreadBody = createMiddleware(async (c, next) => {
  await next();
  const request = c.req.raw;
  const length = Number(request.headers.get("content-length") ?? "0");
  if (request.body && !request.bodyUsed && length <= DRAIN_LIMIT_BYTES) await request.arrayBuffer().catch(() => undefined);
});
