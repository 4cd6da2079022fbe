// Every entity of the account API: its table, schema, filters, sorts and rules.
// docs/skills/db-setup/db-tables.md maps these model files to tables; a test keeps them in step.
import * as z from "zod/mini";
import { ADMINISTRATION, AUDIT, WORK_RECORDS } from "../auth/permissions";
import { forgetPrincipal } from "../auth/principals";
import { CaseDefaults, CaseInput, CaseTaskDefaults, CaseTaskInput } from "../models/case";
import { ClientDefaults, ClientInput, ClientStatus, DependantClientInput, DependantInput } from "../models/client";
import { DateOnly, Id } from "../models/common";
import { ClientContactInput, ContactCompanyInput, ContactIndividualInput } from "../models/contact";
import { DocumentInput } from "../models/document";
import { GroupInput, GroupMemberInput } from "../models/group";
import { Role, UserDefaults, UserInput } from "../models/user";
import type { EntityDefinition } from "./definition";

const id = (column: string) => ({ column, schema: Id });
const text = (column: string) => ({ column, schema: z.string().check(z.minLength(1), z.maxLength(200)) });
const oneOf = (column: string, schema: z.ZodMiniType<string>) => ({ column, schema });

export const users: EntityDefinition = {
  name: "users",
  table: "users",
  input: UserInput,
  defaults: UserDefaults,
  filters: { role: oneOf("role", Role), status: oneOf("status", z.enum(["active", "disabled"])), email: text("email") },
  sorts: { name: "name" },
  defaultSort: "name",
  unique: { email: "email" },
  permissions: ADMINISTRATION,
  // Users are disabled (status), never deleted: cases and documents keep naming them.
  operations: { delete: false },
  afterWrite: (env, userId) => forgetPrincipal(env, userId),
};

export const groups: EntityDefinition = {
  name: "groups",
  table: "groups",
  input: GroupInput,
  filters: {},
  sorts: { name: "name" },
  defaultSort: "name",
  unique: { name: "name" },
  cascade: [{ table: "group_members", column: "group_id" }],
  permissions: ADMINISTRATION,
};

export const groupMembers: EntityDefinition = {
  name: "group-members",
  table: "group_members",
  input: GroupMemberInput,
  filters: { groupId: id("group_id"), userId: id("user_id") },
  sorts: { id: "id" },
  defaultSort: "id",
  references: [
    { field: "groupId", table: "groups" },
    { field: "userId", table: "users" },
  ],
  unique: { user_id: "userId", group_id: "groupId" },
  permissions: ADMINISTRATION,
  operations: { update: false },
};

export const clients: EntityDefinition = {
  name: "clients",
  table: "clients",
  input: ClientInput,
  defaults: ClientDefaults,
  filters: {
    status: oneOf("status", ClientStatus),
    assignedTo: id("assigned_to"),
    email: text("email"),
    // The web app's search box: names as written (case counts), listed by name.
    nameStartsWith: { ...text("name"), prefix: true },
  },
  sorts: { name: "name", createdAt: "created_at", updatedAt: "updated_at" },
  defaultSort: "name",
  softDelete: true,
  audited: true,
  references: [{ field: "assignedTo", table: "users" }],
  permissions: WORK_RECORDS,
};

export const dependants: EntityDefinition = {
  name: "dependants",
  table: "client_dependants",
  input: DependantInput,
  filters: { clientId: id("client_id") },
  sorts: { name: "name" },
  defaultSort: "name",
  references: [{ field: "clientId", table: "clients", softDeleted: true }],
  permissions: WORK_RECORDS,
};

export const dependantClients: EntityDefinition = {
  name: "dependant-clients",
  table: "client_dependant_clients",
  input: DependantClientInput,
  filters: { dependantId: id("dependant_id"), clientId: id("client_id") },
  sorts: { id: "id" },
  defaultSort: "id",
  references: [
    { field: "dependantId", table: "client_dependants" },
    { field: "clientId", table: "clients", softDeleted: true },
  ],
  unique: { client_id: "clientId", dependant_id: "dependantId" },
  permissions: WORK_RECORDS,
  operations: { update: false },
};

export const cases: EntityDefinition = {
  name: "cases",
  table: "cases",
  input: CaseInput,
  defaults: CaseDefaults,
  filters: {
    clientId: id("client_id"),
    status: oneOf("status", z.enum(["open", "pending", "closed"])),
    assignedTo: id("assigned_to"),
  },
  sorts: { openedAt: "opened_at", title: "title" },
  defaultSort: "-openedAt",
  softDelete: true,
  audited: true,
  references: [
    { field: "clientId", table: "clients", softDeleted: true },
    { field: "assignedTo", table: "users" },
  ],
  permissions: WORK_RECORDS,
};

export const caseTasks: EntityDefinition = {
  name: "case-tasks",
  table: "case_tasks",
  input: CaseTaskInput,
  defaults: CaseTaskDefaults,
  filters: {
    caseId: id("case_id"),
    status: oneOf("status", z.enum(["todo", "doing", "done"])),
    assignedTo: id("assigned_to"),
    dueDate: oneOf("due_date", DateOnly),
  },
  sorts: { dueDate: "due_date" },
  defaultSort: "dueDate",
  references: [
    { field: "caseId", table: "cases", softDeleted: true },
    { field: "assignedTo", table: "users" },
  ],
  permissions: WORK_RECORDS,
};

/** Document metadata; creating a document is an upload (documents/routes.ts), not a POST of JSON. */
export const documents: EntityDefinition = {
  name: "documents",
  table: "documents",
  input: DocumentInput,
  filters: { clientId: id("client_id"), caseId: id("case_id") },
  sorts: { createdAt: "created_at", name: "name" },
  defaultSort: "-createdAt",
  visible: "status = 'active'",
  softDelete: true,
  audited: true,
  references: [
    { field: "clientId", table: "clients", softDeleted: true },
    { field: "caseId", table: "cases", softDeleted: true },
  ],
  permissions: WORK_RECORDS,
  operations: { create: false },
};

export const contactCompanies: EntityDefinition = {
  name: "contact-companies",
  table: "contact_companies",
  input: ContactCompanyInput,
  filters: { kind: oneOf("kind", z.enum(["bank", "insurer", "solicitor", "accountant", "agency", "other"])) },
  sorts: { name: "name" },
  defaultSort: "name",
  permissions: WORK_RECORDS,
};

export const contactIndividuals: EntityDefinition = {
  name: "contact-individuals",
  table: "contact_individuals",
  input: ContactIndividualInput,
  filters: { companyId: id("company_id"), email: text("email") },
  sorts: { lastName: "last_name" },
  defaultSort: "lastName",
  references: [{ field: "companyId", table: "contact_companies" }],
  permissions: WORK_RECORDS,
};

export const clientContacts: EntityDefinition = {
  name: "client-contacts",
  table: "client_contacts",
  input: ClientContactInput,
  filters: { clientId: id("client_id"), contactId: id("contact_id") },
  sorts: { id: "id" },
  defaultSort: "id",
  references: [
    { field: "clientId", table: "clients", softDeleted: true },
    { field: "contactId", table: (r) => (r.contactKind === "company" ? "contact_companies" : "contact_individuals") },
  ],
  unique: { client_id: "clientId", contact_id: "contactId" },
  permissions: WORK_RECORDS,
};

export const auditEvents: EntityDefinition = {
  name: "audit-events",
  table: "audit_events",
  input: z.strictObject({}),
  filters: { entity: oneOf("entity", z.enum(["clients", "cases", "documents"])), entityId: id("entity_id") },
  sorts: { at: "at" },
  defaultSort: "-at",
  permissions: AUDIT,
  operations: { create: false, update: false, delete: false },
};

export const catalog: EntityDefinition[] = [
  users,
  groups,
  groupMembers,
  clients,
  dependants,
  dependantClients,
  cases,
  caseTasks,
  documents,
  contactCompanies,
  contactIndividuals,
  clientContacts,
  auditEvents,
];
