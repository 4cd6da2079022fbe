import * as z from "zod/mini";
import { Email, Name } from "./common";

/** What each role may do is in auth/permissions.ts. */
export const Role = z.enum(["owner", "admin", "manager", "staff", "readonly"]);
export type Role = z.infer<typeof Role>;

export const UserInput = z.strictObject({
  email: Email,
  name: Name,
  role: Role,
  status: z.enum(["active", "disabled"]),
});
export const UserDefaults = { status: "active" } as const;
