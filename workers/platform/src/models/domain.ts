import * as z from "zod/mini";

/** A record the domain's owner must publish (DNS TXT, or a file served over HTTP). */
export const DomainRecord = z.object({ type: z.enum(["txt", "http"]), name: z.string(), value: z.string() });

export const Domain = z.object({
  /** The custom hostname's id at Cloudflare. */
  id: z.string(),
  hostname: z.string(),
  accountId: z.string(),
  slug: z.string(),
  status: z.enum(["pending", "active"]),
  /** While pending: what the owner must publish for Cloudflare to activate it. */
  records: z.array(DomainRecord),
  checkedAt: z.string(),
  createdAt: z.string(),
});
export type Domain = z.infer<typeof Domain>;

export const DomainInput = z.strictObject({ hostname: z.string().check(z.minLength(1), z.maxLength(300)) });
