import { test } from "node:test";
import assert from "node:assert/strict";
import { isFullD1Error, isRetryableD1Error, isUnavailableD1Error, retryRead } from "../shared/d1-errors";

const d1 = (text: string) => new Error(`D1_ERROR: ${text}`, { cause: new Error(text) });
const noWait = async () => undefined;

test("Cloudflare's errors are told apart: retryable, overloaded (unavailable, not retried), full", () => {
  assert.ok(isRetryableD1Error(d1("Network connection lost.")));
  assert.ok(isUnavailableD1Error(d1("Network connection lost.")));
  assert.ok(!isRetryableD1Error(d1("D1 DB is overloaded. Too many requests queued.")));
  assert.ok(isUnavailableD1Error(d1("D1 DB is overloaded. Too many requests queued.")));
  assert.ok(isFullD1Error(d1("Exceeded maximum DB size")));
  // A SQL mistake or another error is none of these: it stays a bug to see, not an outage.
  // Known by its text, with or without the D1_ERROR prefix.
  assert.ok(isRetryableD1Error(new Error("Network connection lost.")));
  for (const error of [d1("near \"SELEC\": syntax error"), new Error("fetch failed"), "not an error"]) {
    assert.ok(!isRetryableD1Error(error) && !isUnavailableD1Error(error) && !isFullD1Error(error), String(error));
  }
});

test("a read that fails with a retryable error is run again, at most twice more", async () => {
  let calls = 0;
  const value = await retryRead(async () => (++calls < 3 ? Promise.reject(d1("D1 DB reset because its code was updated.")) : "rows"), noWait);
  assert.equal(value, "rows");
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(retryRead(async () => (calls++, Promise.reject(d1("Network connection lost."))), noWait), /Network connection lost/);
  assert.equal(calls, 3);
});

test("an overloaded database is not hammered: the read fails at once", async () => {
  let calls = 0;
  await assert.rejects(retryRead(async () => (calls++, Promise.reject(d1("D1 DB is overloaded. Requests queued for too long."))), noWait), /overloaded/);
  assert.equal(calls, 1);
});
