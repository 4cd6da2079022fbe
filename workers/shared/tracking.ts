// TrackingSchema: audit fields carried inside every row's JSON body (the seed's convention).
import * as z from "zod/mini";

export const TrackingSchema = z.object({
  accountId: z.string(),
  createdAt: z.string(),
  createdBy: z.optional(z.string()),
  updatedAt: z.string(),
  updatedBy: z.optional(z.string()),
  version: z.int().check(z.positive()),
  deletedAt: z.optional(z.string()),
  deletedBy: z.optional(z.string()),
});
export type Tracking = z.infer<typeof TrackingSchema>;

export function newTracking(accountId: string, actor: string, now = new Date()): Tracking {
  const at = now.toISOString();
  return { accountId, createdAt: at, createdBy: actor, updatedAt: at, updatedBy: actor, version: 1 };
}

export function nextTracking(previous: Tracking, actor: string, now = new Date()): Tracking {
  return { ...previous, updatedAt: now.toISOString(), updatedBy: actor, version: previous.version + 1 };
}
