import * as z from "zod/mini";

/** A marketplace provider firms can be connected to (the shared `providers` table). */
export const ProviderInput = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  category: z.enum(["banking", "insurance", "pensions", "legal", "identity", "other"]),
  /** Where the provider processes data; residency rules allow only European regions. */
  region: z.enum(["uk", "eu"]),
  // A link people follow from the marketplace: the web's own schemes only (never javascript: or data:).
  website: z.optional(z.url({ protocol: /^https?$/ })),
});

export const Provider = z.extend(ProviderInput, { id: z.string(), createdAt: z.string(), updatedAt: z.string() });
export type Provider = z.infer<typeof Provider>;
