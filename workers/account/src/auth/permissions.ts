import type { Principal } from "../env";
import type { Role } from "../models/user";

/** What a request wants to do to an entity. */
export type Action = "read" | "write" | "delete";

/** The permission an entity requires for each action. */
export type Permission = "member" | "editor" | "manager" | "administrator";

/**
 * Roles, strongest first. owner and admin administer users and groups; manager may also delete
 * records; staff may create and edit; readonly may only read.
 */
const GRANTS: Record<Role, readonly Permission[]> = {
  owner: ["member", "editor", "manager", "administrator"],
  admin: ["member", "editor", "manager", "administrator"],
  manager: ["member", "editor", "manager"],
  staff: ["member", "editor"],
  readonly: ["member"],
};

export type EntityPermissions = Record<Action, Permission>;

/** Records of the firm's work: everyone reads, staff edit, managers delete. */
export const WORK_RECORDS: EntityPermissions = { read: "member", write: "editor", delete: "manager" };

/** Users and groups: everyone reads (to assign work), only administrators change them. */
export const ADMINISTRATION: EntityPermissions = { read: "member", write: "administrator", delete: "administrator" };

/** The audit trail: administrators only, and nobody writes to it through the API. */
export const AUDIT: EntityPermissions = { read: "administrator", write: "administrator", delete: "administrator" };

/** The platform principal may only manage users (it creates an account's first owner). */
const PLATFORM_ENTITIES = new Set(["users"]);

export function isAllowed(principal: Principal, entity: string, permission: Permission): boolean {
  if (principal.kind === "platform") return PLATFORM_ENTITIES.has(entity);
  return GRANTS[principal.role].includes(permission);
}
