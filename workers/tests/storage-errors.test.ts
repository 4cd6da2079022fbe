import { test } from "node:test";
import assert from "node:assert/strict";
import { r2ServiceError } from "../shared/storage-errors";

// As workerd's R2 binding throws them: "<action>: <text> (<code>)".
const r2 = (action: string, text: string, code: number) => Object.assign(new Error(`${action}: ${text} (${code})`), { name: "R2Error", code });

test("R2's service errors are told from the request's own: 503 for a failing service, 429 for too many writes to a key", () => {
  assert.deepEqual(r2ServiceError(r2("put", "We encountered an internal error. Please try again.", 10001)), { status: 503, error: "storage_unavailable", code: 10001 });
  assert.deepEqual(r2ServiceError(r2("get", "Service is temporarily unavailable.", 10043)), { status: 503, error: "storage_unavailable", code: 10043 });
  assert.deepEqual(r2ServiceError(r2("put", "Reduce your concurrent request rate for the same object.", 10058)), { status: 429, error: "too_many_requests", code: 10058 });
  // The request's own faults, and errors that are not R2's, stay what they are.
  for (const error of [r2("put", "Your metadata headers exceed the maximum allowed metadata size.", 10012), new Error("fetch failed"), "not an error"]) {
    assert.equal(r2ServiceError(error), null, String(error));
  }
});
