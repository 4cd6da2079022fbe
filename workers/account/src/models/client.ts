import * as z from "zod/mini";
import { TrackingSchema } from "../../../shared/tracking";

export const ClientStatus = z.enum(["prospect", "active", "archived"]);

/** What a caller may send to create a client. Unknown fields are rejected, not dropped. */
export const ClientInput = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
  email: z.optional(z.email().check(z.maxLength(320))),
  phone: z.optional(z.string().check(z.maxLength(40))),
  status: z._default(ClientStatus, "prospect"),
});

/** The JSON stored in clients.body. */
export const Client = z.extend(ClientInput, { id: z.string(), tracking: TrackingSchema });
export type Client = z.infer<typeof Client>;
