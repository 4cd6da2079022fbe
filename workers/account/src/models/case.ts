import * as z from "zod/mini";
import { DateOnly, Id, Name, Notes } from "./common";

export const CaseInput = z.strictObject({
  clientId: Id,
  title: Name,
  status: z.enum(["open", "pending", "closed"]),
  priority: z.enum(["low", "normal", "high"]),
  assignedTo: z.optional(Id),
  openedAt: DateOnly,
  closedAt: z.optional(DateOnly),
  description: z.optional(Notes),
});
export const CaseDefaults = { status: "open", priority: "normal" } as const;

export const CaseTaskInput = z.strictObject({
  caseId: Id,
  title: Name,
  status: z.enum(["todo", "doing", "done"]),
  dueDate: DateOnly,
  assignedTo: z.optional(Id),
});
export const CaseTaskDefaults = { status: "todo" } as const;
