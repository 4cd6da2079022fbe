import * as z from "zod/mini";
import { Id, Name, Notes } from "./common";

export const GroupInput = z.strictObject({
  name: Name,
  description: z.optional(Notes),
});

export const GroupMemberInput = z.strictObject({
  groupId: Id,
  userId: Id,
});
