import * as z from "zod/mini";
import { DateOnly, Email, Id, Name, Notes, Phone } from "./common";

export const ClientStatus = z.enum(["prospect", "active", "archived"]);

export const Address = z.strictObject({
  line1: z.string().check(z.maxLength(200)),
  line2: z.optional(z.string().check(z.maxLength(200))),
  city: z.string().check(z.maxLength(100)),
  postcode: z.string().check(z.maxLength(20)),
  country: z.string().check(z.length(2)),
});

/** A client of the firm. Unknown fields are rejected, not dropped. */
export const ClientInput = z.strictObject({
  name: Name,
  email: z.optional(Email),
  phone: z.optional(Phone),
  status: ClientStatus,
  dateOfBirth: z.optional(DateOnly),
  address: z.optional(Address),
  assignedTo: z.optional(Id),
  notes: z.optional(Notes),
});
export const ClientDefaults = { status: "prospect" } as const;

/** A person who depends on a client (a child, a cared-for relative). */
export const DependantInput = z.strictObject({
  clientId: Id,
  name: Name,
  relationship: z.enum(["child", "spouse", "parent", "sibling", "other"]),
  dateOfBirth: z.optional(DateOnly),
});

/** Links a dependant to another client record (a dependant who is a client in their own right). */
export const DependantClientInput = z.strictObject({
  dependantId: Id,
  clientId: Id,
});
