import type { PlatformEnv } from "../env";
import { Slug } from "../models/account";

/** What a request's host name says about where it goes. */
export type HostTarget =
  | { kind: "platform" }
  | { kind: "tenant"; slug: string }
  | { kind: "unknown"; host: string };

/**
 * A host name as DNS compares it: lowercase, without a port and without the trailing dot of a
 * fully qualified name (ACME.example.com.:443 is acme.example.com).
 */
export function normalizeHost(host: string): string {
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d*$/, "");
  return name.toLowerCase().replace(/\.$/, "");
}

/**
 * Where a host name sends a request: to the platform itself (TENANT_DOMAIN, or one of PLATFORM_HOSTS),
 * to one tenant (<slug>.<TENANT_DOMAIN>, the slug one label), or nowhere. A name that is neither — a deeper
 * subdomain, a look-alike such as <slug>.<TENANT_DOMAIN>.evil — names no tenant: it must not fall
 * back to routing by the caller's token.
 */
export function classifyHost(env: Pick<PlatformEnv, "TENANT_DOMAIN" | "PLATFORM_HOSTS">, rawHost: string): HostTarget {
  const host = normalizeHost(rawHost);
  const domain = normalizeHost(env.TENANT_DOMAIN);
  const own = (env.PLATFORM_HOSTS ?? "").split(",").map((h) => normalizeHost(h.trim())).filter(Boolean);
  if (host === domain || own.includes(host)) return { kind: "platform" };
  const label = host.endsWith(`.${domain}`) ? host.slice(0, -(domain.length + 1)) : undefined;
  if (label !== undefined && Slug.safeParse(label).success) return { kind: "tenant", slug: label };
  return { kind: "unknown", host };
}
