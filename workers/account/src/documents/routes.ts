import { Hono } from "hono";
import { problem, validationError } from "../../../shared/http";
import { newTracking } from "../../../shared/tracking";
import type { AccountContext, AccountEnv } from "../env";
import { documents } from "../entities/catalog";
import { actorOf, checkReferences, etag, fail, requireAllowed } from "../entities/routes";
import { auditEvent, findLive, insert, type StoredRecord } from "../entities/store";
import { ContentType, DocumentInput } from "../models/document";
import { r2ServiceError } from "../../../shared/storage-errors";

/** Largest document accepted in one upload (Workers accept request bodies up to 100 MB). */
export const MAX_DOCUMENT_BYTES = 100 * 1024 * 1024;
/** An upload still pending after this long was interrupted: its row and object are removed. */
const ABANDONED_AFTER_MS = 15 * 60 * 1000;

/**
 * Upload and download of document bytes. An upload is three steps — a pending metadata row, the
 * bytes streamed to R2 (hashed on the way, never buffered whole), then the row made active with
 * size and SHA-256 — and pending rows are invisible to every read. A failure in step 2 removes the
 * object and the row at once; a crash between steps leaves a pending row that sweepAbandonedUploads
 * removes, with its object. So no orphan object and no dangling metadata survive either way.
 */
export const documentContent = new Hono<AccountContext>()
  .post("/", async (c) => {
    requireAllowed(c, documents, "write");
    const meta = DocumentInput.safeParse(c.req.query());
    if (!meta.success) throw validationError(meta.error, "query");
    const contentType = ContentType.safeParse(c.req.header("content-type") ?? "");
    if (!contentType.success) fail(400, "validation_failed", "content-type", contentType.error.issues[0]?.message ?? "invalid");
    const declared = c.req.header("content-length");
    if (declared === undefined || !/^\d+$/.test(declared)) fail(400, "validation_failed", "content-length", "the upload's size is required");
    const size = Number(declared);
    if (size > MAX_DOCUMENT_BYTES) {
      return problem(c, 413, "too_large", `content-length: documents are at most ${MAX_DOCUMENT_BYTES} bytes`, "content-length");
    }
    await checkReferences(c, documents, meta.data);
    await sweepAbandonedUploads(c.env, 10);

    const id = crypto.randomUUID();
    const actor = actorOf(c);
    const pending: StoredRecord = {
      ...meta.data,
      id,
      contentType: contentType.data,
      size,
      sha256: null,
      r2Key: `documents/${id}`,
      status: "pending",
      tracking: newTracking(c.env.ACCOUNT_ID, actor),
    };
    await insert(c.var.db, documents, pending).run();

    let sha256: string;
    try {
      sha256 = await streamToR2(c.env, pending.r2Key as string, c.req.raw.body, size, contentType.data, id);
    } catch (error) {
      await Promise.allSettled([c.env.DOCUMENTS.delete(pending.r2Key as string), deleteRow(c.env, id)]);
      // R2 failing is not the body's fault: answered as an outage (503/429, Retry-After) by onError.
      if (r2ServiceError(error)) throw error;
      return problem(c, 400, "upload_failed", `body: the upload did not complete (${(error as Error).message})`, "body");
    }

    const active: StoredRecord = { ...pending, sha256, status: "active" };
    await c.var.db.batch([
      c.var.db.prepare("UPDATE documents SET body = ? WHERE id = ? AND status = 'pending'").bind(JSON.stringify(active), id),
      auditEvent(c.var.db, documents.name, active, "created", actor),
    ]);
    return c.json(active, 201, { etag: etag(1), location: `/api/documents/${id}` });
  })
  .get("/:id/content", async (c) => {
    requireAllowed(c, documents, "read");
    const record = await findLive(c.var.db, documents, c.req.param("id"));
    if (!record) return problem(c, 404, "not_found", `id: no documents record ${c.req.param("id")}`, "id");
    const object = await c.env.DOCUMENTS.get(record.r2Key as string);
    if (!object) return problem(c, 404, "not_found", "id: the document's content is missing", "id");
    return new Response(object.body, {
      headers: {
        "content-type": record.contentType as string,
        "content-length": String(object.size),
        etag: `"${record.sha256 as string}"`,
        "x-content-sha256": record.sha256 as string,
      },
    });
  });

/** Streams the body to R2 with its exact declared length while hashing it; returns the SHA-256 hex. */
async function streamToR2(env: AccountEnv, key: string, body: ReadableStream | null, size: number, contentType: string, id: string) {
  if (!body) throw new Error("no body");
  const [toStore, toHash] = body.tee();
  const digest = new crypto.DigestStream("SHA-256");
  const hashing = toHash.pipeTo(digest);
  // FixedLengthStream makes a short or long body an error instead of a truncated object.
  const fixed = new FixedLengthStream(size);
  const piping = toStore.pipeTo(fixed.writable);
  await Promise.all([
    env.DOCUMENTS.put(key, fixed.readable, { httpMetadata: { contentType }, customMetadata: { documentId: id } }),
    piping,
    hashing,
  ]);
  return [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function deleteRow(env: AccountEnv, id: string) {
  return env.DB.prepare("DELETE FROM documents WHERE id = ? AND status = 'pending'").bind(id).run();
}

/** Removes uploads that never finished (their row and any bytes that reached R2). */
export async function sweepAbandonedUploads(env: AccountEnv, limit: number): Promise<number> {
  const cutoff = new Date(Date.now() - ABANDONED_AFTER_MS).toISOString();
  const { results } = await env.DB.prepare(
    "SELECT id, json_extract(body, '$.r2Key') AS key FROM documents WHERE status = 'pending' AND created_at < ? ORDER BY created_at LIMIT ?",
  )
    .bind(cutoff, limit)
    .all<{ id: string; key: string }>();
  for (const row of results) {
    await env.DOCUMENTS.delete(row.key);
    await deleteRow(env, row.id);
  }
  return results.length;
}
