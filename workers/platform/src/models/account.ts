import { z } from "zod";

/** Account slugs double as tenant host names (acme.example.com), so they follow DNS label rules. */
export const Slug = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits, dashes");

export const AccountStatus = z.enum(["provisioning", "active", "suspended", "deleting"]);

/** Routing metadata: where the account's own stack lives (the seed's db_shard_id and Worker URL). */
export const Routing = z
  .object({
    workerUrl: z.url(),
    dbShardId: z.string().min(1),
    r2Bucket: z.string().min(1),
    jurisdiction: z.literal("eu"),
  })
  .strict();

export const AccountInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    status: AccountStatus,
    routing: Routing,
  })
  .strict();

export const Account = AccountInput.extend({ id: z.string(), slug: Slug, createdAt: z.string(), updatedAt: z.string() });
export type Account = z.infer<typeof Account>;
