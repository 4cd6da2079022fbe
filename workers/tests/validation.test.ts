import { test } from "node:test";
import assert from "node:assert/strict";
import "../shared/validation";
import { validationError } from "../shared/http";
import { ClientInput } from "../account/src/models/client";

/** The JSON body of the 400 a client create with `body` gets, or undefined when it is valid. */
async function problemOf(body: unknown) {
  const parsed = ClientInput.safeParse(body);
  if (parsed.success) return undefined;
  return (await validationError(parsed.error, "body").getResponse().json()) as { error: string; message: string; field: string };
}

test("the first invalid field is named, in the message and as `field`", async () => {
  const problem = await problemOf({ name: "Ada", status: "active", email: "not-an-email" });
  assert.equal(problem?.error, "validation_failed");
  assert.equal(problem?.field, "email");
  assert.match(problem!.message, /^email: /);
});

test("an unknown key is named itself, and a nested field by its path", async () => {
  assert.equal((await problemOf({ name: "Ada", status: "active", favouriteColour: "red" }))?.field, "favouriteColour");
  const nested = await problemOf({ name: "Ada", status: "active", address: { postcode: 42 } });
  assert.match(nested!.field, /^address\./);
});

test("messages are zod's English ones, set once for every Worker", async () => {
  const problem = await problemOf({});
  assert.equal(problem?.field, "name");
  assert.match(problem!.message, /^name: Invalid input/);
});
