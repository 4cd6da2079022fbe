import { createMiddleware } from "hono/factory";
import type { Context } from "hono";
import type { AccountContext } from "./env";
import { BOOKMARK_HEADER, problem } from "../../shared/http";

/**
 * D1 read replication, Cloudflare's convention: every request runs its queries in one D1 session.
 * A caller that sends the bookmark of its last response (`x-d1-bookmark`) never reads anything older
 * than its own writes; without one, reads may be served by a replica that is behind. Each response
 * carries the session's latest bookmark for the caller's next request.
 */
export { BOOKMARK_HEADER };

/** D1's session constraints, or a bookmark: four hex groups (8-8-8-32), lexicographically ordered. */
const START = /^(first-primary|first-unconstrained|[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32})$/;

export const d1Session = createMiddleware<AccountContext>(async (c, next) => {
  const bookmark = requestBookmark(c);
  if (bookmark !== undefined && !START.test(bookmark)) {
    return problem(c, 400, "invalid_bookmark", `${BOOKMARK_HEADER}: not a D1 bookmark (8-8-8-32 hex digits) or first-primary / first-unconstrained`, BOOKMARK_HEADER);
  }
  // Without a bookmark, a read may be served by any replica; a change starts at the primary, so the
  // checks it makes first (the record's version, its references) see the latest state.
  const reads = c.req.method === "GET" || c.req.method === "HEAD";
  const session = c.env.DB.withSession(bookmark ?? (reads ? "first-unconstrained" : "first-primary"));
  c.set("db", session);
  await next();
  // A handler that ran further sessions of its own (a web page calling the API) may have answered
  // with a later bookmark than this session's: the caller keeps the later one (bookmarks sort in order).
  const latest = laterBookmark(session.getBookmark(), c.res.headers.get(BOOKMARK_HEADER) ?? undefined);
  if (latest) c.res.headers.set(BOOKMARK_HEADER, latest);
});

/** The later of two bookmarks (D1's bookmarks sort in the order they were issued). */
export function laterBookmark(a: string | null | undefined, b: string | null | undefined): string | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return a > b ? a : b;
}

/** The bookmark the caller sent (an empty header counts as none: clients echo an empty one back). */
export function requestBookmark(c: Context): string | undefined {
  const value = c.req.header(BOOKMARK_HEADER)?.trim();
  return value ? value : undefined;
}

/** D1 refuses a well-formed bookmark it did not issue (forged, or another database's). */
export function isRejectedBookmark(error: Error): boolean {
  return /D1_ERROR/.test(error.message) && /bookmark/i.test(error.message);
}

export function rejectedBookmark(c: Context, error: Error) {
  return problem(c, 400, "invalid_bookmark", `${BOOKMARK_HEADER}: the database did not accept this bookmark (${error.message.replace(/^.*?D1_ERROR:\s*/, "")})`, BOOKMARK_HEADER);
}
