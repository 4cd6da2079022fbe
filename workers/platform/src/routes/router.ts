import type { Context } from "hono";
import type { PlatformEnv } from "../env";
import { findAccountBySlug } from "../accounts";
import type { Account } from "../models/account";
import { problem } from "../../../shared/http";
import { bearerToken, TokenRejected, verifyToken } from "../../../shared/auth";
import { type Domain, findDomain, routedDomain } from "../domains";
import { normalizeHost } from "./hosts";
import { CloudflareApi, CloudflareApiError } from "../provisioning/cloudflare-api";
import { BOOKMARK_COOKIE, keepSessionBookmark, sameOrigin, sendSessionBookmark, sessionToken, SESSION_COOKIE, signIn, signInPage, signOut } from "./sessions";
import { deleteCookie } from "hono/cookie";
import { html } from "hono/html";
import { asPage, isPageRequest, page } from "../../../shared/page";

type Ctx = Context<{ Bindings: PlatformEnv }>;

/** Active accounts' routing metadata, cached per isolate for a few seconds; admin writes evict. */
const ROUTING_TTL_MS = 10_000;
const routingCache = new Map<string, { account: Account; until: number }>();

export function forgetRouting(slug: string) {
  routingCache.delete(slug);
}

/** Active custom domains, cached per isolate as accounts' routing is; admin writes evict. */
const domainCache = new Map<string, { domain: Domain; until: number }>();

export function forgetDomain(hostname: string) {
  domainCache.delete(normalizeHost(hostname));
}

/**
 * A request to a tenant's own domain: routed to that tenant (with the same token check as its tenant
 * host) once the domain is active; while pending, a clear 421 naming what is missing; null when no
 * tenant has the host name. Cloudflare not answering whether a pending domain is active yet leaves it
 * pending.
 */
export async function routeByDomain(c: Ctx, host: string, path: string): Promise<Response | null> {
  const name = normalizeHost(host);
  const hit = domainCache.get(name);
  let domain: Domain | null = hit && hit.until > Date.now() ? hit.domain : null;
  if (!domain) {
    try {
      domain = await routedDomain(c.env, name, (id) => new CloudflareApi(c.env).customHostname(id));
    } catch (error) {
      if (!(error instanceof CloudflareApiError)) throw error;
      domain = await findDomain(c.env.DB, name);
    }
  }
  if (!domain) return null;
  if (domain.status !== "active") {
    if (wantsPage(c)) {
      return c.html(page(`${name} is not active yet`, html`<main><h1>${name} is not active yet</h1><p>This address works once the firm has published the records Cloudflare asked for.</p></main>`), 421);
    }
    return problem(c, 421, "domain_pending", `host: ${name} is not active yet — its owner has not published the records Cloudflare asked for (see the account's domains)`, "host");
  }
  domainCache.set(name, { domain, until: Date.now() + ROUTING_TTL_MS });
  return routeHost(c, domain.slug, path, domain.accountId);
}

/**
 * A request to a tenant's host (its <slug> host or its own active domain), where browsers come: the
 * sign-in form and sign-out are the platform's; anything else goes to the account's Worker with the
 * caller's token — from Authorization, or from the session cookie. A page asked for without a valid
 * session goes to the sign-in form.
 */
export async function routeHost(c: Ctx, slug: string, path: string, accountId?: string): Promise<Response> {
  const outside = fromOutsideAllowedCountries(c);
  if (outside) return outside;
  if (path === "/sign-in" || path === "/sign-out") {
    const account = await activeAccount(c.env, slug);
    if (!account || (accountId !== undefined && account.id !== accountId) || account.status !== "active" || !account.routing) {
      return problem(c, 404, "unknown_account", `account: no active account ${slug}`, "account");
    }
    if (path === "/sign-out" && c.req.method === "POST") return signOut(c, account);
    if (path === "/sign-in" && c.req.method === "POST") return signIn(c, account);
    if (path === "/sign-in" && (c.req.method === "GET" || c.req.method === "HEAD")) return signInPage(c, account.slug);
    return problem(c, 405, "method_not_allowed", `method: ${c.req.method} is not allowed on ${path}`, "method");
  }
  const cookie = c.req.header("authorization") ? undefined : sessionToken(c);
  if (cookie === undefined && !c.req.header("authorization") && wantsPage(c)) return c.redirect("/sign-in", 303);
  if (cookie !== undefined) {
    try {
      await verifyToken(cookie, c.env.AUTH_PUBLIC_KEY, slug);
    } catch (error) {
      if (!(error instanceof TokenRejected)) throw error;
      // An expired session, or one for another tenant: a page starts again at the form.
      if (wantsPage(c)) {
        endBrowserSession(c);
        return c.redirect("/sign-in", 303);
      }
    }
    if (!sameOrigin(c)) return problem(c, 403, "forbidden", "origin: a request that changes data must come from this site's own pages", "origin");
  }
  const answer = await routeTo(c, slug, path, accountId, cookie);
  // A session the account's Worker no longer takes (signed out elsewhere, its user removed): a page
  // starts again at the form.
  if (cookie !== undefined && answer.status === 401 && wantsPage(c)) {
    endBrowserSession(c);
    return c.redirect("/sign-in", 303);
  }
  return answer;
}

/** A session the platform or the account no longer takes: its cookies go with it. */
function endBrowserSession(c: Ctx) {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
  deleteCookie(c, BOOKMARK_COOKIE, { path: "/" });
}

/** A browser asking for a page (a link, a form; not a script asking for data): it gets pages, never JSON. */
function wantsPage(c: Ctx): boolean {
  return isPageRequest(c.req.raw);
}

/** UK-only users: a request from anywhere else (or from nowhere known) stops before any lookup. */
function fromOutsideAllowedCountries(c: Ctx): Response | undefined {
  const country = (c.req.raw.cf as IncomingRequestCfProperties | undefined)?.country;
  const allowed = c.env.ALLOWED_COUNTRIES.split(",").map((x) => x.trim().toUpperCase());
  if (country && allowed.includes(country.toUpperCase())) return undefined;
  return problem(c, 451, "unavailable_for_legal_reasons",
    `country: this service is only available to users in ${allowed.join(", ")}; this request came from ${country ?? "an unknown country"}`, "country");
}

async function activeAccount(env: PlatformEnv, slug: string): Promise<Account | null> {
  const hit = routingCache.get(slug);
  if (hit && hit.until > Date.now()) return hit.account;
  const account = await findAccountBySlug(env.DB, slug);
  if (account?.status === "active" && account.routing) routingCache.set(slug, { account, until: Date.now() + ROUTING_TTL_MS });
  else routingCache.delete(slug);
  return account;
}

/**
 * Sends a request to one account's Worker: only with a valid token for that same account, and only
 * to the Worker named by the routing metadata on that account's row. A token for A never reaches B.
 * With `accountId` (a custom domain's), the account found by slug must be that one.
 */
export async function routeTo(c: Ctx, slug: string | undefined, path: string, accountId?: string, session?: string): Promise<Response> {
  const outside = fromOutsideAllowedCountries(c);
  if (outside) return outside;
  let tokenAccount: string;
  try {
    tokenAccount = (await verifyToken(session ?? bearerToken(c.req.header("authorization")), c.env.AUTH_PUBLIC_KEY, slug)).account;
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    return problem(c, error.status, error.status === 401 ? "unauthenticated" : "forbidden", `authorization: ${error.message}`, "authorization");
  }
  const target = slug ?? tokenAccount;
  const account = await activeAccount(c.env, target);
  // A domain names its account by id too: a later account that took a deleted one's slug is not it.
  if (!account || (accountId !== undefined && account.id !== accountId)) return problem(c, 404, "unknown_account", `account: no account ${target}`, "account");
  if (account.status !== "active" || !account.routing) return problem(c, 503, "account_unavailable", `account: ${target} is ${account.status}`, "account");

  const incoming = new URL(c.req.url);
  const forwarded = new Request(new URL(path + incoming.search, account.routing.workerUrl), c.req.raw);
  // A browser's session travels on as the token it is; its cookies stay with the platform.
  if (session !== undefined) {
    forwarded.headers.set("authorization", `Bearer ${session}`);
    sendSessionBookmark(c, forwarded);
    forwarded.headers.delete("cookie");
  }
  // Workers see a normalised Accept-Encoding; the caller's own is request.cf.clientAcceptEncoding.
  // Ask the account Worker only for encodings the caller accepts, or a compressed body would be
  // passed on with a Content-Encoding the caller never asked for.
  const clientEncoding = (c.req.raw.cf as IncomingRequestCfProperties | undefined)?.clientAcceptEncoding;
  forwarded.headers.set("accept-encoding", clientEncoding || "identity");
  // A reused connection can fail once after the account Worker answered early without reading a
  // request body; a read has no body and no side effect, so it is safe to try once more.
  const attempts = forwarded.method === "GET" || forwarded.method === "HEAD" ? 2 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await fetch(attempt === 1 ? forwarded : new Request(forwarded.url, { method: forwarded.method, headers: forwarded.headers }));
      return session === undefined ? answer : await keepSessionBookmark(c, answer);
    } catch (error) {
      if (attempt < attempts) continue;
      console.error(`account ${target} unreachable: ${(error as Error).message}`);
      return problem(c, 502, "account_unreachable", `account: ${target} did not answer`, "account");
    }
  }
}
