import * as z from "zod/mini";

/** Account slugs double as tenant host names (acme.example.com), so they follow DNS label rules. */
export const Slug = z.string().check(
  z.regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: lowercase letters, digits, dashes"),
);

export const AccountStatus = z.enum(["provisioning", "active", "suspended", "deleting"]);

/** Routing metadata: where the account's own stack lives (the seed's db_shard_id and Worker URL). */
export const Routing = z.strictObject({
  workerUrl: z.url(),
  dbShardId: z.string().check(z.minLength(1)),
  r2Bucket: z.string().check(z.minLength(1)),
  jurisdiction: z.literal("eu"),
});

export const AccountInput = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  status: AccountStatus,
  routing: Routing,
});

export const Account = z.extend(AccountInput, { id: z.string(), slug: Slug, createdAt: z.string(), updatedAt: z.string() });
export type Account = z.infer<typeof Account>;
