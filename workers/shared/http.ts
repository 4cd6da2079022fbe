// Error responses shared by every Worker: a 4xx names the field at fault, and nothing — not even an
// unexpected exception — answers with a stack trace.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";

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
export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HTTPException(400, { res: Response.json({ error: "invalid_json", message: "body: not valid JSON", field: "body" }, { status: 400 }) });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
    throw new HTTPException(400, {
      res: Response.json({ error: "validation_failed", message: `${field}: ${issue?.message ?? "invalid"}`, field }, { status: 400 }),
    });
  }
  return parsed.data;
}

/** Hono onError: known HTTP errors pass through; anything else is logged and hidden. */
export function onError(err: Error, c: Context) {
  if (err instanceof HTTPException) return err.getResponse();
  console.error(`unhandled error on ${c.req.method} ${new URL(c.req.url).pathname}: ${err.message}`);
  return problem(c, 500, "internal_error", "the request could not be completed");
}

export function notFound(c: Context) {
  return problem(c, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
}
