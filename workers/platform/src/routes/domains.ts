// A tenant's own domains — /admin/accounts/:slug/domains for the platform admin, /domains for the
// account's own admins. Adding one creates the custom hostname at
// Cloudflare (its certificate validated by TXT record) and pins it to the tenants' region; the
// answer lists the records the domain's owner must publish. Listing asks Cloudflare for each pending
// one's status. Removing one deletes it there and here: nothing routes it afterwards.
import { Hono, type Context } from "hono";
import type { PlatformEnv } from "../env";
import { findAccountBySlug } from "../accounts";
import { CloudflareApi, CloudflareApiError } from "../provisioning/cloudflare-api";
import { deleteDomain, type Domain, DomainInput, domainOf, domainsOf, findDomain, refreshDomain, saveDomain } from "../domains";
import { problem, readJson } from "../../../shared/http";
import { bearerToken, signServiceToken, TokenRejected, verifyToken } from "../../../shared/auth";
import type { Account } from "../models/account";
import { forgetDomain } from "./router";

/** Finds the account a request manages the domains of, or answers why it may not. */
type AccountOf = (c: Ctx) => Promise<Account | Response>;
type Ctx = Context<{ Bindings: PlatformEnv }>;

/** The domain routes over whichever account `accountOf` resolves: the admin's by slug, an owner's by token. */
function domainRoutes(accountOf: AccountOf) {
  return new Hono<{ Bindings: PlatformEnv }>()
    .post("/", async (c) => {
      const account = await accountOf(c);
      if (account instanceof Response) return account;
      const { hostname } = await readJson(c, DomainInput);
      const api = new CloudflareApi(c.env);
      let created;
      try {
        created = await api.createCustomHostname(hostname, account.id);
      } catch (error) {
        // Cloudflare's refusal (an invalid name, one another account has) is the caller's to fix.
        if (error instanceof CloudflareApiError && (error.status === 400 || error.status === 409)) {
          return problem(c, error.status, error.status === 409 ? "conflict" : "validation_failed", withField(error.message), "hostname");
        }
        throw error;
      }
      try {
        await api.createRegionalHostname(created.hostname, c.env.TENANT_REGION);
        const domain = domainOf(created, account, new Date().toISOString());
        await saveDomain(c.env.DB, domain);
        return c.json(domain, 201);
      } catch (error) {
        // Not stored: nothing must point at a custom hostname the platform does not route.
        await removeAtCloudflare(api, created).catch((cleanup: Error) =>
          console.error(`custom hostname ${created.hostname} (${created.id}) left at Cloudflare after a failed add: ${cleanup.message}`),
        );
        throw error;
      }
    })
    .get("/", async (c) => {
      const account = await accountOf(c);
      if (account instanceof Response) return account;
      const api = new CloudflareApi(c.env);
      const items = [];
      for (const domain of await domainsOf(c.env.DB, account.id)) {
        if (domain.status === "active") {
          items.push(domain);
          continue;
        }
        let now: Domain | null;
        try {
          now = await refreshDomain(c.env.DB, domain, await api.customHostname(domain.id));
        } catch (error) {
          // Cloudflare not answering: the status as last reported.
          if (!(error instanceof CloudflareApiError)) throw error;
          now = domain;
        }
        if (now) items.push(now);
      }
      return c.json({ items });
    })
    .delete("/:hostname", async (c) => {
      const account = await accountOf(c);
      if (account instanceof Response) return account;
      const domain = await findDomain(c.env.DB, c.req.param("hostname"));
      if (!domain || domain.accountId !== account.id) {
        return problem(c, 404, "not_found", `hostname: ${account.slug} has no domain ${c.req.param("hostname")}`, "hostname");
      }
      await removeDomain(c.env, domain);
      return c.body(null, 204);
    });
}

/** /admin/accounts/:slug/domains: the platform admin, for any active account. */
export const domainAdmin = domainRoutes(async (c) => {
  const account = await findAccountBySlug(c.env.DB, c.req.param("slug")!);
  return account?.status === "active" && account.routing ? account : problem(c, 404, "not_found", `slug: no active account ${c.req.param("slug")}`, "slug");
});

/**
 * /domains: the account's owner or an admin, by their token. The account's Worker confirms the user
 * is active and has that role there (users live in its D1, not here).
 */
export const ownDomains = domainRoutes(async (c) => {
  let claims;
  try {
    claims = await verifyToken(bearerToken(c.req.header("authorization")), c.env.AUTH_PUBLIC_KEY);
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    return problem(c, error.status, error.status === 401 ? "unauthenticated" : "forbidden", `authorization: ${error.message}`, "authorization");
  }
  // A browser's session works on its tenant's host only, where sign-out ends it (the account's Worker
  // checks); here it would outlive its sign-out. Scripts use an API token.
  if (claims.sessionId) return problem(c, 401, "unauthenticated", "authorization: a browser session cannot manage domains; use an API token", "authorization");
  const account = await findAccountBySlug(c.env.DB, claims.account);
  if (account?.status !== "active" || !account.routing) return problem(c, 404, "not_found", `account: no active account ${claims.account}`, "account");
  const lookup = await signServiceToken(c.env.AUTH_PRIVATE_KEY, account.slug);
  const user = await fetch(new URL(`/platform/users/${encodeURIComponent(claims.sub)}`, account.routing.workerUrl), { headers: { authorization: `Bearer ${lookup}` } });
  if (!user.ok) {
    await user.body?.cancel();
    return user.status === 404 ? problem(c, 403, "forbidden", "authorization: the token's user is not a user of its account", "authorization")
      : problem(c, 502, "account_unreachable", `account: ${account.slug} did not confirm the user`, "account");
  }
  const { role, status } = (await user.json()) as { role?: string; status?: string };
  if (status !== "active" || (role !== "owner" && role !== "admin")) {
    return problem(c, 403, "forbidden", "authorization: only the account's owner or an admin manages its domains", "authorization");
  }
  return account;
});

/** Deletes a domain at Cloudflare (already gone is fine), then its row. */
export async function removeDomain(env: PlatformEnv, domain: { id: string; hostname: string }): Promise<void> {
  forgetDomain(domain.hostname);
  await removeAtCloudflare(new CloudflareApi(env), domain);
  await deleteDomain(env.DB, domain.id);
  // Again: a request in between may have cached it from the row not yet deleted.
  forgetDomain(domain.hostname);
}

/** The custom hostname and its region setting, each already gone or deleted now. */
async function removeAtCloudflare(api: CloudflareApi, domain: { id: string; hostname: string }): Promise<void> {
  const ignoreMissing = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof CloudflareApiError && error.status === 404)) throw error;
    }
  };
  await ignoreMissing(() => api.deleteRegionalHostname(domain.hostname));
  await ignoreMissing(() => api.deleteCustomHostname(domain.id));
}

/** The API's message ("400 7400: hostname: …") as the platform's, which starts with the field. */
function withField(message: string): string {
  const text = message.replace(/^\d+ \d+: /, "");
  return text.startsWith("hostname:") ? text : `hostname: ${text}`;
}
