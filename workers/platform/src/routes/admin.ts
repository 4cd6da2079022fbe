import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { PlatformEnv } from "../env";
import { Account, SignupInput } from "../models/account";
import { problem, readJson } from "../../../shared/http";
import { findAccountBySlug, saveAccount } from "../accounts";
import { deprovision, migrate, provision, STEPS } from "../provisioning/provisioner";
import { forgetRouting } from "./router";
import { MAX_USER_TOKEN_SECONDS, signServiceToken, signToken } from "../../../shared/auth";
import * as z from "zod/mini";
import { providerAdmin } from "./providers";
import { domainAdmin } from "./domains";
import { unseal } from "../provisioning/sealed";

const TokenRequest = z.strictObject({
  userId: z.uuid(),
  ttlSeconds: z.optional(z.int().check(z.minimum(60), z.maximum(MAX_USER_TOKEN_SECONDS))),
});

/**
 * Whether the account's Worker is up: its health check answers, within a few tries. A Worker busy
 * for a moment must not be taken for a missing one — a redeploy would restart it under its users.
 */
async function answers(account: Account, tries = 3): Promise<boolean> {
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const health = await fetch(new URL("/healthz", account.routing!.workerUrl), { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      await health.body?.cancel();
      if (health.ok) return true;
    } catch {
      // Not answering (yet): tried again below.
    }
    if (attempt < tries) await scheduler.wait(HEALTH_RETRY_MS);
  }
  return false;
}
const HEALTH_TIMEOUT_MS = 5_000;
const HEALTH_RETRY_MS = 500;

export const admin = new Hono<{ Bindings: PlatformEnv }>()
  .use("*", bearerAuth({ verifyToken: (token, c) => timingSafeEqual(token, (c.env as PlatformEnv).ADMIN_TOKEN) }))
  .route("/providers", providerAdmin)
  .route("/accounts/:slug/domains", domainAdmin)
  // Signup: the account row first (status provisioning), then the seed's provisioning steps.
  .post("/accounts", async (c) => {
    const input = await readJson(c, SignupInput);
    if (await findAccountBySlug(c.env.DB, input.slug)) {
      return problem(c, 409, "conflict", `slug: an account named ${input.slug} already exists`, "slug");
    }
    const now = new Date().toISOString();
    const account: Account = { id: crypto.randomUUID(), ...input, status: "provisioning", provisioning: { resources: {} }, createdAt: now, updatedAt: now };
    try {
      await saveAccount(c.env.DB, account);
    } catch {
      // Two signups for one slug at once: the unique index let exactly one in.
      return problem(c, 409, "conflict", `slug: an account named ${input.slug} already exists`, "slug");
    }
    const result = await provision(c.env, account);
    return result.status === "active"
      ? c.json(result, 201)
      : c.json({ error: "provisioning_failed", message: result.provisioning?.error ?? "unknown", field: "provisioning", account: result }, 502);
  })
  // Tokens: the platform is the only issuer. It signs for a user only after that account's own
  // Worker confirms the user exists and is active (users live in the account's D1, not here).
  .post("/accounts/:slug/tokens", async (c) => {
    const input = await readJson(c, TokenRequest);
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug"));
    if (!account || account.status !== "active" || !account.routing) {
      return problem(c, 404, "not_found", `slug: no active account ${c.req.param("slug")}`, "slug");
    }
    const lookup = await signServiceToken(c.env.AUTH_PRIVATE_KEY, account.slug);
    const user = await fetch(new URL(`/platform/users/${encodeURIComponent(input.userId)}`, account.routing.workerUrl), {
      headers: { authorization: `Bearer ${lookup}` },
    });
    if (user.status === 404 || user.status === 400) return problem(c, 400, "unknown_user", `userId: no user ${input.userId} in ${account.slug}`, "userId");
    if (!user.ok) return problem(c, 502, "account_unreachable", `account: ${account.slug} did not confirm the user`, "account");
    if (((await user.json()) as { status?: string }).status !== "active") {
      return problem(c, 403, "forbidden", `userId: user ${input.userId} is disabled`, "userId");
    }
    const ttl = input.ttlSeconds ?? 3600;
    return c.json({ token: await signToken(c.env.AUTH_PRIVATE_KEY, account.slug, input.userId, ttl), expiresIn: ttl }, 201);
  })
  // Resume a failed or interrupted provisioning where it stopped. An active account gets the
  // release's pending migrations; if its Worker does not answer, it is deployed again (its script
  // and the steps after it; its data stays).
  .post("/accounts/:slug/provision", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug"));
    if (!account) return problem(c, 404, "not_found", `slug: no account ${c.req.param("slug")}`, "slug");
    if (account.status === "deleting") return problem(c, 409, "conflict", `slug: ${account.slug} is being deleted`, "slug");
    if (account.status === "active") {
      // Up: only the release's migrations it does not have yet (a new release adds some).
      if (await answers(account)) {
        const migrated = await migrate(c.env, account);
        return migrated.release?.error
          ? c.json({ error: "migration_failed", message: `release: ${migrated.release.error}`, field: "release", account: migrated }, 502)
          : c.json(migrated);
      }
      forgetRouting(account.slug);
      account.provisioning = { ...account.provisioning!, step: STEPS[STEPS.indexOf("script") - 1] };
    }
    const result = await provision(c.env, account);
    return result.status === "active"
      ? c.json(result)
      : c.json({ error: "provisioning_failed", message: result.provisioning?.error ?? "unknown", field: "provisioning", account: result }, 502);
  })
  // A release's migrations rolled out to every active account, one after another. One account
  // failing does not stop the others (tenants are independent): it keeps serving on its schema,
  // its row says which migration failed and why, and POST /accounts/:slug/provision resumes it.
  .post("/releases/rollout", async (c) => {
    const { results } = await c.env.DB.prepare("SELECT body FROM accounts ORDER BY slug").all<{ body: string }>();
    const active = results.map((r) => Account.parse(JSON.parse(r.body))).filter((a) => a.status === "active" && a.routing);
    const migrated: string[] = [];
    const failed: { slug: string; error: string }[] = [];
    for (const listed of active) {
      // Read again: deleted or changed since the list, it is not written back from the list's copy.
      const account = await findAccountBySlug(c.env.DB, listed.slug);
      if (!account || account.status !== "active" || !account.routing) continue;
      try {
        if (!(await answers(account))) {
          failed.push({ slug: account.slug, error: "its Worker does not answer" });
          continue;
        }
        const result = await migrate(c.env, account);
        if (result.release?.error) failed.push({ slug: account.slug, error: result.release.error });
        else migrated.push(account.slug);
      } catch (error) {
        // Its row could not be written, say: reported, and the rollout goes on to the next account.
        failed.push({ slug: account.slug, error: (error as Error).message });
      }
    }
    return failed.length === 0
      ? c.json({ migrated, failed })
      : c.json({
          error: "rollout_incomplete",
          message: `accounts: ${failed.length} of ${active.length} did not take the release (${failed.map((f) => f.slug).join(", ")}); resume each with POST /admin/accounts/<slug>/provision`,
          field: "accounts",
          migrated,
          failed,
        }, 502);
  })
  // Complete deprovisioning: the account's script, D1, bucket and namespace, then its row.
  .delete("/accounts/:slug", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug"));
    if (!account) return problem(c, 404, "not_found", `slug: no account ${c.req.param("slug")}`, "slug");
    forgetRouting(account.slug);
    const result = await deprovision(c.env, account);
    return result.done ? c.body(null, 204) : problem(c, 502, "deprovisioning_failed", `provisioning: ${result.error}`, "provisioning");
  })
  // The account's R2 S3 credentials (for its back office or a bulk export): unsealed only here.
  .get("/accounts/:slug/r2-credentials", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug"));
    const resources = account?.provisioning?.resources;
    if (!account || !resources?.r2AccessKeyId || !resources.r2SecretSealed || !resources.bucket) {
      return problem(c, 404, "not_found", `slug: no R2 credentials for ${c.req.param("slug")}`, "slug");
    }
    return c.json({
      endpoint: c.env.R2_S3_ENDPOINT,
      bucket: resources.bucket,
      jurisdiction: "eu",
      accessKeyId: resources.r2AccessKeyId,
      secretAccessKey: await unseal(c.env.CREDENTIALS_KEY, resources.r2SecretSealed),
    });
  })
  .get("/accounts/:slug", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug"));
    return account ? c.json(account) : problem(c, 404, "not_found", `slug: no account ${c.req.param("slug")}`, "slug");
  })
  .get("/accounts", async (c) => {
    const { results } = await c.env.DB.prepare("SELECT body FROM accounts ORDER BY slug").all<{ body: string }>();
    return c.json({ items: results.map((r) => Account.parse(JSON.parse(r.body))) });
  });
