// /admin/accounts/:slug/domains: a tenant's own domains. Adding one creates the custom hostname at
// Cloudflare (its certificate validated by TXT record) and pins it to the tenants' region; the
// answer lists the records the domain's owner must publish. Listing asks Cloudflare for each pending
// one's status. Removing one deletes it there and here: nothing routes it afterwards.
import { Hono } from "hono";
import type { PlatformEnv } from "../env";
import { findAccountBySlug } from "../accounts";
import { CloudflareApi, CloudflareApiError } from "../provisioning/cloudflare-api";
import { deleteDomain, DomainInput, domainOf, domainsOf, findDomain, saveDomain } from "../domains";
import { problem, readJson } from "../../../shared/http";
import { forgetDomain } from "./router";

export const domainAdmin = new Hono<{ Bindings: PlatformEnv }>()
  .post("/", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug")!);
    if (!account || account.status !== "active") return problem(c, 404, "not_found", `slug: no active account ${c.req.param("slug")}`, "slug");
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
      await api.deleteCustomHostname(created.id).catch(() => undefined);
      throw error;
    }
  })
  .get("/", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug")!);
    if (!account) return problem(c, 404, "not_found", `slug: no account ${c.req.param("slug")}`, "slug");
    const api = new CloudflareApi(c.env);
    const items = [];
    for (const domain of await domainsOf(c.env.DB, account.id)) {
      if (domain.status === "active") {
        items.push(domain);
        continue;
      }
      const now = domainOf(await api.customHostname(domain.id), account, domain.createdAt);
      await saveDomain(c.env.DB, now);
      if (now.status === "active") forgetDomain(now.hostname);
      items.push(now);
    }
    return c.json({ items });
  })
  .delete("/:hostname", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug")!);
    const domain = await findDomain(c.env.DB, c.req.param("hostname"));
    if (!account || !domain || domain.accountId !== account.id) {
      return problem(c, 404, "not_found", `hostname: ${c.req.param("slug")} has no domain ${c.req.param("hostname")}`, "hostname");
    }
    await removeDomain(c.env, domain);
    return c.body(null, 204);
  });

/** Deletes a domain at Cloudflare (already gone is fine), then its row. */
export async function removeDomain(env: PlatformEnv, domain: { id: string; hostname: string }): Promise<void> {
  const api = new CloudflareApi(env);
  const ignoreMissing = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof CloudflareApiError && error.status === 404)) throw error;
    }
  };
  forgetDomain(domain.hostname);
  await ignoreMissing(() => api.deleteRegionalHostname(domain.hostname));
  await ignoreMissing(() => api.deleteCustomHostname(domain.id));
  await deleteDomain(env.DB, domain.id);
  forgetDomain(domain.hostname);
}

/** The API's message ("400 7400: hostname: …") as the platform's, which starts with the field. */
function withField(message: string): string {
  const text = message.replace(/^\d+ \d+: /, "");
  return text.startsWith("hostname:") ? text : `hostname: ${text}`;
}
