// Passwords (account/src/auth/credentials.ts): a salted PBKDF2 hash, checked in constant time, and
// the slowing-down of repeated failures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ALGORITHM, FREE_FAILURES, MAX_WAIT_MS, Password, hashPassword, verifyPassword, waitAfterFailures } from "../account/src/auth/credentials";

test("a password hashes with a fresh salt and only the same password verifies", async () => {
  const one = await hashPassword("correct horse battery staple", 1000);
  const two = await hashPassword("correct horse battery staple", 1000);
  assert.equal(one.algorithm, ALGORITHM);
  assert.notEqual(one.salt, two.salt, "each hash has its own salt");
  assert.notEqual(one.hash, two.hash);
  assert.ok(!JSON.stringify(one).includes("horse"), "the password itself is never stored");
  assert.equal(await verifyPassword("correct horse battery staple", one), true);
  assert.equal(await verifyPassword("correct horse battery stapler", one), false);
  assert.equal(await verifyPassword("correct horse battery staple", null), false, "no credential: never right");
  assert.equal(await verifyPassword("correct horse battery staple", { ...one, algorithm: "md5" }), false, "an unknown algorithm: never right");
});

test("failures are free at first, then each sign-in waits twice as long as the last, up to a cap", () => {
  assert.equal(waitAfterFailures(FREE_FAILURES - 1), 0);
  assert.equal(waitAfterFailures(FREE_FAILURES), 1000);
  assert.equal(waitAfterFailures(FREE_FAILURES + 3), 8000);
  assert.equal(waitAfterFailures(FREE_FAILURES + 40), MAX_WAIT_MS);
});

test("a password is 12 to 256 characters", () => {
  assert.equal(Password.safeParse("short").success, false);
  assert.equal(Password.safeParse("x".repeat(257)).success, false);
  assert.equal(Password.safeParse("twelve chars").success, true);
});
