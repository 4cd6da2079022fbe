import * as z from "zod/mini";
import { Id, Name } from "./common";

/** Metadata a caller may set; size, checksum and the R2 key are recorded by the upload itself. */
export const DocumentInput = z.strictObject({
  name: Name,
  clientId: z.optional(Id),
  caseId: z.optional(Id),
});

export const ContentType = z.string().check(z.regex(/^[\w.+-]+\/[\w.+-]+(?:\s*;.*)?$/, "must be a media type such as application/pdf"), z.maxLength(200));
