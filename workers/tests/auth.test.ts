import { test } from "node:test";
import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { MAX_USER_TOKEN_SECONDS, signServiceToken, signToken, TokenRejected, verifyServiceToken, verifyToken } from "../shared/auth";

const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
const publicJwk = JSON.stringify(await exportJWK(publicKey));
const privateJwk = JSON.stringify(await exportJWK(privateKey));
const user = "5f0c7c8e-1f0e-4c89-9d4c-0b7ad3c1e001";
const now = () => Math.floor(Date.now() / 1000);

/** A token signed with the platform's key but with any claims (or none of some). */
function craft(claims: Record<string, unknown>) {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
}

async function refused(promise: Promise<unknown>, status: 401 | 403, reason: RegExp) {
  await assert.rejects(promise, (error: unknown) => error instanceof TokenRejected && error.status === status && reason.test(error.message));
}

test("a user token the platform signs is accepted for its account and refused for another", async () => {
  const token = await signToken(privateJwk, "acme", user, 3600);
  const verified = await verifyToken(token, publicJwk, "acme");
  assert.deepEqual({ ...verified, expiresAt: undefined }, { sub: user, account: "acme", expiresAt: undefined });
  assert.ok(Math.abs(verified.expiresAt - (now() + 3600)) <= 2);
  assert.equal(verified.sessionId, undefined, "an API token is no browser session");
  await refused(verifyToken(token, publicJwk, "globex"), 403, /another account/);
});

test("a browser session's token carries its session id (jti), which sign-out ends", async () => {
  const session = crypto.randomUUID();
  const verified = await verifyToken(await signToken(privateJwk, "acme", user, 3600, session), publicJwk, "acme");
  assert.equal(verified.sessionId, session);
  const claims = { iss: "platform", aud: "account:acme", sub: user, iat: now(), exp: now() + 60 };
  assert.equal((await verifyToken(await craft({ ...claims, jti: "s-1" }), publicJwk, "acme")).sessionId, "s-1");
  await refused(verifyToken(await craft({ ...claims, jti: 7 }), publicJwk, "acme"), 401, /^token is not valid$/);
});

test("a token without exp, or living longer than the limit, is refused", async () => {
  const base = { iss: "platform", aud: "account:acme", sub: user };
  await refused(verifyToken(await craft({ ...base, iat: now() }), publicJwk, "acme"), 401, /no exp claim/);
  await refused(verifyToken(await craft({ ...base, exp: now() + 60 }), publicJwk, "acme"), 401, /no iat claim/);
  await refused(verifyToken(await craft({ ...base, iat: now(), exp: now() + MAX_USER_TOKEN_SECONDS + 1 }), publicJwk, "acme"), 401, /lives longer/);
  // Issued long ago with a far expiry: too old, whatever exp says.
  await refused(verifyToken(await craft({ ...base, iat: now() - 2 * MAX_USER_TOKEN_SECONDS, exp: now() + 60 }), publicJwk, "acme"), 401, /expired/);
  assert.throws(() => signToken(privateJwk, "acme", user, MAX_USER_TOKEN_SECONDS + 1), RangeError);
});

test("a subject that is not a user id is no user token: the platform's own subject among them", async () => {
  for (const sub of ["platform", "admin", "", "../users"]) {
    await refused(verifyToken(await craft({ iss: "platform", aud: "account:acme", sub, iat: now(), exp: now() + 60 }), publicJwk, "acme"), 401, /not a user|not valid/);
  }
  assert.throws(() => signToken(privateJwk, "acme", "platform", 60), RangeError);
});

test("service tokens and user tokens are not interchangeable", async () => {
  const service = await signServiceToken(privateJwk, "acme");
  await verifyServiceToken(service, publicJwk, "acme");
  await refused(verifyToken(service, publicJwk, "acme"), 401, /not a user token/);
  await refused(verifyServiceToken(service, publicJwk, "globex"), 401, /not a service token/);
  await refused(verifyServiceToken(await signToken(privateJwk, "acme", user, 60), publicJwk, "acme"), 401, /not a service token/);
  assert.throws(() => signServiceToken(privateJwk, "acme", 3600), RangeError);
});

test("a token signed by another key is refused", async () => {
  const other = await generateKeyPair("ES256", { extractable: true });
  const forged = await new SignJWT({ iss: "platform", aud: "account:acme", sub: user, iat: now(), exp: now() + 60 }).setProtectedHeader({ alg: "ES256" }).sign(other.privateKey);
  await refused(verifyToken(forged, publicJwk, "acme"), 401, /signature/);
});
