// TrackingSchema: audit fields carried inside every row's JSON body (the seed's convention).
import { z } from "zod";

export const TrackingSchema = z.object({
  accountId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number().int().positive(),
});
export type Tracking = z.infer<typeof TrackingSchema>;

export function newTracking(accountId: string, now = new Date()): Tracking {
  const at = now.toISOString();
  return { accountId, createdAt: at, updatedAt: at, version: 1 };
}
