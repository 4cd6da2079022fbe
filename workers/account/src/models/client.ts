import { z } from "zod";
import { TrackingSchema } from "../../../shared/tracking";

export const ClientStatus = z.enum(["prospect", "active", "archived"]);

/** What a caller may send to create a client. Unknown fields are rejected, not dropped. */
export const ClientInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(320).optional(),
    phone: z.string().max(40).optional(),
    status: ClientStatus.default("prospect"),
  })
  .strict();

/** The JSON stored in clients.body. */
export const Client = ClientInput.extend({ id: z.string(), tracking: TrackingSchema });
export type Client = z.infer<typeof Client>;
