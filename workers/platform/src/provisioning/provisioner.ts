import type { PlatformEnv } from "../env";
import type { Account } from "../models/account";
import { saveAccount } from "../accounts";
import { CloudflareApi, CloudflareApiError } from "./cloudflare-api";
import { seal, sha256Hex } from "./sealed";
import { domainsOf } from "../domains";
import { removeDomain } from "../routes/domains";

/**
 * The seed's provisioning steps, in order. Each is idempotent — it finds what an earlier,
 * interrupted attempt created instead of creating it twice — and its outcome is recorded on the
 * account row before the next begins, so a crash or a failure at any step is resumed by a retry.
 */
export const STEPS = ["d1", "r2", "r2-credentials", "kv", "script", "migrations", "hostname", "routing"] as const;
export type Step = (typeof STEPS)[number];

export const resourceNames = (slug: string) => ({
  script: `acct-${slug}`,
  d1: `acct-${slug}`,
  bucket: `acct-${slug}-documents`,
  kv: `acct-${slug}-cache`,
});

/** The tenant's own host name: <slug>.<TENANT_DOMAIN>. */
export const tenantHostname = (env: PlatformEnv, slug: string) => `${slug}.${env.TENANT_DOMAIN}`;

const isConflict = (error: unknown) => error instanceof CloudflareApiError && error.status === 409;

type StepRunner = (api: CloudflareApi, env: PlatformEnv, account: Account) => Promise<void>;

const run: Record<Step, StepRunner> = {
  async d1(api, _env, account) {
    const name = resourceNames(account.slug).d1;
    try {
      account.provisioning!.resources.d1Id = (await api.createD1(name)).uuid;
    } catch (error) {
      if (!isConflict(error)) throw error;
      account.provisioning!.resources.d1Id = (await api.listD1()).find((d) => d.name === name)?.uuid;
    }
  },
  async r2(api, _env, account) {
    const name = resourceNames(account.slug).bucket;
    try {
      await api.createBucket(name);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    account.provisioning!.resources.bucket = name;
  },
  /** S3 credentials for the account's bucket only, issued before the Worker is deployed with it. */
  async "r2-credentials"(api, env, account) {
    const resources = account.provisioning!.resources;
    if (resources.r2AccessKeyId && resources.r2SecretSealed) return;
    const token = await api.createBucketToken(`${resourceNames(account.slug).bucket} (S3)`, resources.bucket!);
    resources.r2AccessKeyId = token.id;
    resources.r2SecretSealed = await seal(env.CREDENTIALS_KEY, await sha256Hex(token.value));
  },
  async kv(api, _env, account) {
    const title = resourceNames(account.slug).kv;
    try {
      account.provisioning!.resources.kvId = (await api.createNamespace(title)).id;
    } catch (error) {
      if (!isConflict(error)) throw error;
      account.provisioning!.resources.kvId = (await api.listNamespaces()).find((n) => n.title === title)?.id;
    }
  },
  async script(api, env, account) {
    const [code, release] = await Promise.all([env.RELEASES.get("account/current.mjs"), env.RELEASES.get("account/release.json")]);
    if (!code || !release) throw new Error("no account Worker release has been published to RELEASES");
    const { compatibilityDate, compatibilityFlags } = (await release.json()) as { compatibilityDate: string; compatibilityFlags: string[] };
    const { d1Id, bucket, kvId } = account.provisioning!.resources;
    const name = resourceNames(account.slug).script;
    await api.uploadScript(name, await code.text(), {
      main_module: "index.mjs",
      compatibility_date: compatibilityDate,
      compatibility_flags: compatibilityFlags,
      // Exactly this account's resources, nothing else.
      bindings: [
        { type: "d1", name: "DB", id: d1Id },
        { type: "r2_bucket", name: "DOCUMENTS", bucket_name: bucket, jurisdiction: "eu" },
        { type: "kv_namespace", name: "CACHE", namespace_id: kvId },
        { type: "plain_text", name: "ACCOUNT_ID", text: account.slug },
        { type: "plain_text", name: "AUTH_PUBLIC_KEY", text: env.AUTH_PUBLIC_KEY },
      ],
    });
    account.provisioning!.resources.script = name;
  },
  async migrations(api, env, account) {
    const db = account.provisioning!.resources.d1Id!;
    await api.queryD1(db, "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
    const applied = new Set((await api.queryD1(db, "SELECT name FROM d1_migrations"))[0]?.results.map((r) => r.name as string));
    const listed = await env.RELEASES.list({ prefix: "account/migrations/" });
    for (const object of listed.objects.sort((a, b) => a.key.localeCompare(b.key))) {
      const file = object.key.slice("account/migrations/".length);
      if (applied.has(file)) continue;
      const sql = await (await env.RELEASES.get(object.key))!.text();
      // One request, one batch: the migration and its record apply together or not at all.
      try {
        await api.queryD1(db, `${sql}\nINSERT INTO d1_migrations (name) VALUES ('${file.replace(/'/g, "''")}');`);
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
      }
    }
  },
  /** The tenant's own host name, pinned to the UK region before anyone is routed to it. */
  async hostname(api, env, account) {
    try {
      await api.createRegionalHostname(tenantHostname(env, account.slug), env.TENANT_REGION);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  },
  async routing(api, _env, account) {
    const { subdomain } = await api.workersSubdomain();
    const { d1Id, bucket, script } = account.provisioning!.resources;
    account.routing = { workerUrl: `https://${script}.${subdomain}.workers.dev`, dbShardId: d1Id!, r2Bucket: bucket!, jurisdiction: "eu" };
  },
};

/** Applies the published release's migrations that an active account's D1 does not have yet. */
export async function migrate(env: PlatformEnv, account: Account): Promise<Account> {
  try {
    await run.migrations(new CloudflareApi(env), env, account);
    account.release = { appliedAt: new Date().toISOString() };
  } catch (error) {
    // Each migration applied with its record in one batch: a failed one left nothing of itself.
    account.release = { ...account.release, error: (error as Error).message };
  }
  account.updatedAt = new Date().toISOString();
  await saveAccount(env.DB, account);
  return account;
}

/** Runs (or resumes) provisioning; the account ends active, or failed with the step and reason. */
export async function provision(env: PlatformEnv, account: Account): Promise<Account> {
  const api = new CloudflareApi(env);
  account.provisioning ??= { resources: {} };
  account.status = "provisioning";
  const done = account.provisioning.step ? STEPS.indexOf(account.provisioning.step as Step) : -1;
  for (const step of STEPS.slice(done + 1)) {
    try {
      await run[step](api, env, account);
    } catch (error) {
      account.status = "failed";
      account.provisioning.error = `${step}: ${(error as Error).message}`;
      await saveAccount(env.DB, account);
      return account;
    }
    account.provisioning.step = step;
    delete account.provisioning.error;
    await saveAccount(env.DB, account);
  }
  account.status = "active";
  await saveAccount(env.DB, account);
  return account;
}

/** Removes everything of the account (script first, so nothing serves while its data goes), then its row. */
export async function deprovision(env: PlatformEnv, account: Account): Promise<{ done: boolean; error?: string }> {
  const api = new CloudflareApi(env);
  const names = resourceNames(account.slug);
  const resources = account.provisioning?.resources ?? {};
  account.status = "deleting";
  await saveAccount(env.DB, account);
  const ignoreMissing = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof CloudflareApiError && error.status === 404)) throw error;
    }
  };
  try {
    // Its own domains first: nothing routes to the account while the rest goes.
    for (const domain of await domainsOf(env.DB, account.id)) await removeDomain(env, domain);
    await ignoreMissing(() => api.deleteScript(resources.script ?? names.script));
    if (resources.r2AccessKeyId) await ignoreMissing(() => api.deleteToken(resources.r2AccessKeyId!));
    await ignoreMissing(() => api.deleteRegionalHostname(tenantHostname(env, account.slug)));
    if (resources.d1Id) await ignoreMissing(() => api.deleteD1(resources.d1Id!));
    await ignoreMissing(() => api.deleteBucket(resources.bucket ?? names.bucket));
    if (resources.kvId) await ignoreMissing(() => api.deleteNamespace(resources.kvId!));
  } catch (error) {
    account.provisioning = { ...(account.provisioning ?? { resources: {} }), error: `delete: ${(error as Error).message}` };
    await saveAccount(env.DB, account);
    return { done: false, error: account.provisioning.error };
  }
  await env.DB.prepare("DELETE FROM accounts WHERE id = ?").bind(account.id).run();
  return { done: true };
}
