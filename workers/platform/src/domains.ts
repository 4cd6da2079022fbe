// Tenants' own domains: Cloudflare for SaaS custom hostnames on the platform's zone, each routed to
// one account once Cloudflare reports it active (its owner published the ownership and certificate
// validation records). What a valid host name is, Cloudflare's API decides; the platform stores what
// it answered.
import type { PlatformEnv } from "./env";
import { normalizeHost } from "./routes/hosts";
import { Domain } from "./models/domain";

export { Domain, DomainInput } from "./models/domain";

/** The custom hostname as Cloudflare's API answers it (the fields the platform reads). */
export interface CustomHostname {
  id: string;
  hostname: string;
  status: string;
  ssl?: { status?: string; validation_records?: { txt_name?: string; txt_value?: string; http_url?: string; http_body?: string }[] };
  ownership_verification?: { type: string; name: string; value: string };
}

/** A domain row from Cloudflare's answer: active when the hostname and its certificate both are. */
export function domainOf(hostname: CustomHostname, account: { id: string; slug: string }, createdAt: string): Domain {
  const active = hostname.status === "active" && hostname.ssl?.status === "active";
  const records: Domain["records"] = [];
  if (!active) {
    if (hostname.ownership_verification) records.push({ type: "txt", name: hostname.ownership_verification.name, value: hostname.ownership_verification.value });
    for (const record of hostname.ssl?.validation_records ?? []) {
      if (record.txt_name && record.txt_value) records.push({ type: "txt", name: record.txt_name, value: record.txt_value });
      if (record.http_url && record.http_body) records.push({ type: "http", name: record.http_url, value: record.http_body });
    }
  }
  return {
    id: hostname.id,
    hostname: normalizeHost(hostname.hostname),
    accountId: account.id,
    slug: account.slug,
    status: active ? "active" : "pending",
    records,
    checkedAt: new Date().toISOString(),
    createdAt,
  };
}

export async function findDomain(db: D1Database, hostname: string): Promise<Domain | null> {
  const row = await db.prepare("SELECT body FROM domains WHERE hostname = ?").bind(normalizeHost(hostname)).first<{ body: string }>();
  return row ? Domain.parse(JSON.parse(row.body)) : null;
}

export async function domainsOf(db: D1Database, accountId: string): Promise<Domain[]> {
  const { results } = await db.prepare("SELECT body FROM domains WHERE account_id = ? ORDER BY hostname").bind(accountId).all<{ body: string }>();
  return results.map((r) => Domain.parse(JSON.parse(r.body)));
}

export async function saveDomain(db: D1Database, domain: Domain): Promise<void> {
  await db.prepare("INSERT INTO domains (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = ?2").bind(domain.id, JSON.stringify(domain)).run();
}

export async function deleteDomain(db: D1Database, id: string): Promise<void> {
  await db.prepare("DELETE FROM domains WHERE id = ?").bind(id).run();
}

/** How often a pending domain that receives requests asks Cloudflare whether it is active yet. */
const PENDING_CHECK_MS = 15_000;

/**
 * The domain a request's host name names, with its status brought up to date: a pending one asks
 * Cloudflare again (at most every PENDING_CHECK_MS, so traffic to it cannot flood the API).
 */
export async function routedDomain(env: PlatformEnv, host: string, check: (id: string) => Promise<CustomHostname | null>): Promise<Domain | null> {
  const domain = await findDomain(env.DB, host);
  if (!domain || domain.status === "active" || Date.now() - Date.parse(domain.checkedAt) < PENDING_CHECK_MS) return domain;
  return refreshDomain(env.DB, domain, await check(domain.id));
}

/**
 * A domain as Cloudflare now reports its custom hostname (null: Cloudflare no longer has it, so
 * neither does the platform). The row is updated, never inserted: a domain removed meanwhile stays removed.
 */
export async function refreshDomain(db: D1Database, domain: Domain, hostname: CustomHostname | null): Promise<Domain | null> {
  if (!hostname) {
    await deleteDomain(db, domain.id);
    return null;
  }
  const now = domainOf(hostname, { id: domain.accountId, slug: domain.slug }, domain.createdAt);
  const { meta } = await db.prepare("UPDATE domains SET body = ?2 WHERE id = ?1").bind(now.id, JSON.stringify(now)).run();
  return meta.changes > 0 ? now : null;
}
