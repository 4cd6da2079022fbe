import * as z from "zod/mini";

/**
 * Account slugs double as tenant host names (acme.example.com) and name the account's resources
 * (acct-<slug>-documents must fit R2's 63 characters), so they are short DNS labels.
 */
export const Slug = z.string().check(
  z.regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, "must be a DNS label of at most 40 lowercase letters, digits, dashes"),
);

export const AccountStatus = z.enum(["provisioning", "active", "failed", "suspended", "deleting"]);

/** Routing metadata: where the account's own stack lives (the seed's db_shard_id and Worker URL). */
export const Routing = z.strictObject({
  workerUrl: z.url(),
  dbShardId: z.string().check(z.minLength(1)),
  r2Bucket: z.string().check(z.minLength(1)),
  jurisdiction: z.literal("eu"),
});

/** Signup: what a new account needs; everything else is provisioned. */
export const SignupInput = z.strictObject({
  slug: Slug,
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
});

/** The resources provisioning has created so far, and the last step it completed. */
export const Provisioning = z.object({
  step: z.optional(z.string()),
  error: z.optional(z.string()),
  resources: z.object({
    d1Id: z.optional(z.string()),
    bucket: z.optional(z.string()),
    kvId: z.optional(z.string()),
    script: z.optional(z.string()),
    /** The account's R2 S3 credentials: access key id, and the secret sealed with CREDENTIALS_KEY. */
    r2AccessKeyId: z.optional(z.string()),
    r2SecretSealed: z.optional(z.string()),
  }),
});
export type Provisioning = z.infer<typeof Provisioning>;

/**
 * The published release's migrations as last applied to the account: when they all were, or the
 * migration that failed and why (the account keeps serving on the schema it has until it is resumed).
 */
export const ReleaseState = z.object({
  appliedAt: z.optional(z.string()),
  error: z.optional(z.string()),
});

export const Account = z.object({
  id: z.string(),
  slug: Slug,
  name: z.string(),
  status: AccountStatus,
  routing: z.optional(Routing),
  provisioning: z.optional(Provisioning),
  release: z.optional(ReleaseState),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Account = z.infer<typeof Account>;
