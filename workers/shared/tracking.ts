// TrackingSchema: audit fields carried inside every row's JSON body (the seed's convention).
import * as z from "zod/mini";

export const TrackingSchema = z.object({
  accountId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.int().check(z.positive()),
});
export type Tracking = z.infer<typeof TrackingSchema>;

export function newTracking(accountId: string, now = new Date()): Tracking {
  const at = now.toISOString();
  return { accountId, createdAt: at, updatedAt: at, version: 1 };
}
