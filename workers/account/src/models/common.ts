import * as z from "zod/mini";

/** Record ids are UUIDs; anything else is rejected before it reaches SQL. */
export const Id = z.uuid();

export const Name = z.string().check(z.trim(), z.minLength(1), z.maxLength(200));
export const Email = z.email().check(z.maxLength(320));
export const Phone = z.string().check(z.maxLength(40));
export const Notes = z.string().check(z.maxLength(10_000));
/** Calendar date, YYYY-MM-DD. */
export const DateOnly = z.iso.date();
