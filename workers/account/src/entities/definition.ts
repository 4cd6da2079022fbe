import type * as z from "zod/mini";
import type { EntityPermissions } from "../auth/permissions";
import type { AccountEnv } from "../env";

/** A filter on a list: ?<name>=value matches the generated column exactly, or its start (`prefix`). */
export interface FilterSpec {
  column: string;
  schema: z.ZodMiniType<string>;
  /**
   * Matches values that start with the given text (a range on the column's index). The list is then
   * in that column's order: only a sort on it keeps the search on the index.
   */
  prefix?: boolean;
}

/** A field that must name an existing record of another table. */
export interface ReferenceSpec {
  field: string;
  /** The referenced table, or how to pick it from the record (a link to one of two kinds). */
  table: string | ((record: Record<string, unknown>) => string);
  /** The referenced table soft-deletes: a deleted record cannot be referenced. */
  softDeleted?: boolean;
}

/**
 * One entity of the account API. The generic routes (entities/routes.ts) give every entity the
 * same create / get / update / delete / list behaviour; a definition says only what differs.
 * Column names here are never taken from a request, so SQL is built from this whitelist alone.
 */
export interface EntityDefinition {
  /** URL segment (/api/<name>) and the entity name in permissions and the audit trail. */
  name: string;
  table: string;
  /** The full, strict input schema: what a record may contain besides id and tracking. */
  input: z.ZodMiniObject;
  /** Values for fields a create may leave out. */
  defaults?: Record<string, unknown>;
  filters: Record<string, FilterSpec>;
  /** Sortable fields → NOT NULL generated columns (keyset pagination needs total order). */
  sorts: Record<string, string>;
  defaultSort: string;
  /** An extra, fixed SQL condition a row must meet to be visible (e.g. a finished upload). */
  visible?: string;
  /** Delete marks tracking.deletedAt (kept for compliance) instead of removing the row. */
  softDelete?: boolean;
  /** Every change is recorded in audit_events in the same transaction. */
  audited?: boolean;
  references?: ReferenceSpec[];
  /** Unique generated columns → the field to name in a 409. */
  unique?: Record<string, string>;
  /** Rows of other tables that go with a hard-deleted record (e.g. group memberships). */
  cascade?: { table: string; column: string }[];
  permissions: EntityPermissions;
  /** Which operations the API offers; default all. */
  operations?: { create?: boolean; update?: boolean; delete?: boolean };
  /** Runs after any successful write (e.g. to invalidate a cache). */
  afterWrite?: (env: AccountEnv, id: string) => Promise<void>;
}
