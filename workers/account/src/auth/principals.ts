import type { AccountEnv } from "../env";
import type { Role } from "../models/user";
import { retryRead } from "../../../shared/d1-errors";

/**
 * KV read cache of who a user is for authorisation: role and status only, keyed by user id — no
 * name or email, so no personal data sits in KV (which has no jurisdiction guarantee). It is read
 * on every request, which is why it is cached; every write to the user deletes the entry, and
 * entries expire after CACHE_TTL_SECONDS so a missed invalidation cannot last.
 *
 * Each entry records the D1 bookmark it was read at. A request that carries a newer bookmark (the
 * caller has seen a later write, e.g. its own role change) does not use the entry: a replica that was
 * behind may have refilled the cache with the old role after the write deleted it.
 *
 * A request that changes data never uses the entry (`fresh`): KV's deletion takes up to a minute to
 * reach other locations, and a demoted or disabled user must not write meanwhile (ADR 0006). It reads
 * the role from the primary, outside the request's session: a bookmark older than the demotion (the
 * demoted user's own) would let a replica that is behind answer. Nor does it refill the cache: KV
 * takes one write a second per key, and writes are a user's busiest moments.
 */
export interface CachedPrincipal {
  role: Role;
  status: "active" | "disabled";
  version: number;
  bookmark?: string;
}

const CACHE_TTL_SECONDS = 300;
const key = (userId: string) => `principal:v1:${userId}`;
const PRINCIPAL = "SELECT role, status, json_extract(body, '$.tracking.version') AS version FROM users WHERE id = ?";

export async function loadPrincipal(env: AccountEnv, db: D1DatabaseSession, userId: string, bookmark: string | undefined, fresh = false): Promise<CachedPrincipal | null> {
  if (fresh) {
    // Without a session, D1 runs the query on the primary.
    const primary = env.DB.prepare(PRINCIPAL).bind(userId);
    return retryRead(() => primary.first<CachedPrincipal>());
  }
  const cached = await env.CACHE.get<CachedPrincipal>(key(userId), "json");
  // Bookmarks sort oldest to newest; an entry without one predates bookmarks and is never newer.
  if (cached && (bookmark === undefined || (cached.bookmark !== undefined && cached.bookmark >= bookmark))) return cached;
  const statement = db.prepare(PRINCIPAL).bind(userId);
  const row = await retryRead(() => statement.first<CachedPrincipal>());
  if (!row) return null;
  const entry: CachedPrincipal = { ...row, bookmark: db.getBookmark() ?? undefined };
  try {
    await env.CACHE.put(key(userId), JSON.stringify(entry), { expirationTtl: CACHE_TTL_SECONDS });
  } catch (error) {
    // Filling the cache is best effort: KV refusing a write (its limit is one a second per key)
    // must not fail the request whose role D1 has just given.
    console.error(`principal cache not filled for ${userId}: ${(error as Error).message}`);
  }
  return entry;
}

/**
 * Empties the entry after a change to the user. Failing that, the old entry lives out its TTL; a
 * change of data never trusts it (`fresh`), so only reads may see the old role meanwhile.
 */
export async function forgetPrincipal(env: AccountEnv, userId: string): Promise<void> {
  try {
    await env.CACHE.delete(key(userId));
  } catch (error) {
    console.error(`principal cache entry not deleted for ${userId}: ${(error as Error).message}`);
  }
}
