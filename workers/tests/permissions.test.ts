import { test } from "node:test";
import assert from "node:assert/strict";
import { ADMINISTRATION, AUDIT, WORK_RECORDS, isAllowed, type Permission } from "../account/src/auth/permissions";
import type { Principal } from "../account/src/env";
import type { Role } from "../account/src/models/user";

const user = (role: Role): Principal => ({ kind: "user", id: "7f0c2f9e-8c1b-4a39-9d7e-5b3f3f0f6a11", role });
const allowed = (role: Role, permission: Permission) => isAllowed(user(role), "clients", permission);

test("each role holds exactly its permissions, strongest first", () => {
  const table: Record<Role, Permission[]> = {
    owner: ["member", "editor", "manager", "administrator"],
    admin: ["member", "editor", "manager", "administrator"],
    manager: ["member", "editor", "manager"],
    staff: ["member", "editor"],
    readonly: ["member"],
  };
  for (const [role, permissions] of Object.entries(table) as [Role, Permission[]][]) {
    for (const permission of ["member", "editor", "manager", "administrator"] as Permission[]) {
      assert.equal(allowed(role, permission), permissions.includes(permission), `${role} / ${permission}`);
    }
  }
});

test("work records: everyone reads, staff write, managers delete; users and the audit trail are for administrators", () => {
  assert.deepEqual(WORK_RECORDS, { read: "member", write: "editor", delete: "manager" });
  assert.deepEqual(ADMINISTRATION, { read: "member", write: "administrator", delete: "administrator" });
  assert.equal(allowed("readonly", WORK_RECORDS.write), false);
  assert.equal(allowed("staff", WORK_RECORDS.delete), false);
  assert.equal(allowed("manager", ADMINISTRATION.write), false);
  assert.equal(allowed("manager", AUDIT.read), false);
  assert.equal(allowed("admin", AUDIT.read), true);
});

test("the platform principal reaches users only, whatever the permission", () => {
  const platform: Principal = { kind: "platform", id: "platform" };
  assert.equal(isAllowed(platform, "users", "administrator"), true);
  for (const entity of ["clients", "cases", "documents", "groups", "audit_events"]) {
    assert.equal(isAllowed(platform, entity, "member"), false, entity);
  }
});
