import * as z from "zod/mini";
import { Email, Id, Name, Phone } from "./common";

export const ContactCompanyInput = z.strictObject({
  name: Name,
  kind: z.enum(["bank", "insurer", "solicitor", "accountant", "agency", "other"]),
  email: z.optional(Email),
  phone: z.optional(Phone),
});

export const ContactIndividualInput = z.strictObject({
  firstName: Name,
  lastName: Name,
  companyId: z.optional(Id),
  email: z.optional(Email),
  phone: z.optional(Phone),
  jobTitle: z.optional(z.string().check(z.maxLength(100))),
});

/** Links a client to a contact (company or individual). */
export const ClientContactInput = z.strictObject({
  clientId: Id,
  contactKind: z.enum(["company", "individual"]),
  contactId: Id,
  relationship: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
});
