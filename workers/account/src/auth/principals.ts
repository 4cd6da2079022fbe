import type { AccountEnv } from "../env";
import type { Role } from "../models/user";

/**
 * KV read cache of who a user is for authorisation: role and status only, keyed by user id — no
 * name or email, so no personal data sits in KV (which has no jurisdiction guarantee). It is read
 * on every request, which is why it is cached; every write to the user deletes the entry, and
 * entries expire after CACHE_TTL_SECONDS so a missed invalidation cannot last.
 */
export interface CachedPrincipal {
  role: Role;
  status: "active" | "disabled";
  version: number;
}

const CACHE_TTL_SECONDS = 300;
const key = (userId: string) => `principal:v1:${userId}`;

export async function loadPrincipal(env: AccountEnv, userId: string): Promise<CachedPrincipal | null> {
  const cached = await env.CACHE.get<CachedPrincipal>(key(userId), "json");
  if (cached) return cached;
  const row = await env.DB.prepare("SELECT role, status, json_extract(body, '$.tracking.version') AS version FROM users WHERE id = ?")
    .bind(userId)
    .first<CachedPrincipal>();
  if (!row) return null;
  await env.CACHE.put(key(userId), JSON.stringify(row), { expirationTtl: CACHE_TTL_SECONDS });
  return row;
}

export function forgetPrincipal(env: AccountEnv, userId: string): Promise<void> {
  return env.CACHE.delete(key(userId));
}
