// Platform-signed tokens (ES256, iss "platform"). Both Workers check them with this code: the
// platform before routing, each account Worker again on arrival (its URL is reachable directly, so
// it trusts nothing it has not checked itself). Two kinds, told apart by their audience:
//   user tokens     aud "account:<slug>",         sub <user id>   — the account API (/api), up to 12 hours
//   service tokens  aud "account-service:<slug>", sub "platform"  — the platform's own calls to an
//                   account (/platform: its users), up to 5 minutes
import { errors, importJWK, jwtVerify, type CryptoKey, type JWTPayload } from "jose";
import * as z from "zod/mini";

export const TOKEN_ISSUER = "platform";
export const PLATFORM_SUBJECT = "platform";
export const audienceFor = (account: string) => `account:${account}`;
export const serviceAudienceFor = (account: string) => `account-service:${account}`;

/** The longest a user token may live (from iat to exp): the platform issues none longer. */
export const MAX_USER_TOKEN_SECONDS = 12 * 3600;
/** The longest a service token may live: the platform signs one per call. */
export const MAX_SERVICE_TOKEN_SECONDS = 300;

const UserId = z.uuid();

/** Why a token was refused: 401 for a missing or bad token, 403 for a good token for another account. */
export class TokenRejected extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

let cached: { jwk: string; key: CryptoKey | Uint8Array } | undefined;
async function keyFrom(jwk: string) {
  if (cached?.jwk !== jwk) cached = { jwk, key: await importJWK(JSON.parse(jwk), "ES256") };
  return cached.key;
}

export function bearerToken(header: string | undefined): string {
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) throw new TokenRejected(401, "a Bearer token is required");
  return token;
}

/** Signature, issuer, expiry, and a lifetime (exp - iat) of at most `maxSeconds`: any token of ours. */
async function verifySigned(token: string, publicJwk: string, maxSeconds: number): Promise<{ aud: string; sub: string; jti?: string; exp: number }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await keyFrom(publicJwk), {
      issuer: TOKEN_ISSUER,
      algorithms: ["ES256"],
      requiredClaims: ["exp", "iat", "sub", "aud"],
      maxTokenAge: maxSeconds,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new TokenRejected(401, "token expired");
    if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenRejected(401, "token signature is not valid");
    if (error instanceof errors.JWTClaimValidationFailed && error.reason === "missing") throw new TokenRejected(401, `token has no ${error.claim} claim`);
    throw new TokenRejected(401, "token is not valid");
  }
  if (payload.exp! - payload.iat! > maxSeconds) throw new TokenRejected(401, `token lives longer than ${maxSeconds} seconds`);
  const { aud, sub, jti } = payload;
  if (typeof aud !== "string" || typeof sub !== "string" || (jti !== undefined && typeof jti !== "string")) throw new TokenRejected(401, "token is not valid");
  return { aud, sub, jti, exp: payload.exp! };
}

/**
 * A user token: for one of an account's users (a UUID subject; the account Worker checks the user
 * exists there). With `account`, also that the token is for that account (403 otherwise).
 */
export async function verifyToken(token: string, publicJwk: string, account?: string): Promise<VerifiedUserToken> {
  const payload = await verifySigned(token, publicJwk, MAX_USER_TOKEN_SECONDS);
  if (!payload.aud.startsWith("account:")) throw new TokenRejected(401, "token is not a user token");
  if (!UserId.safeParse(payload.sub).success) throw new TokenRejected(401, "token subject is not a user");
  const tokenAccount = payload.aud.slice("account:".length);
  if (account !== undefined && tokenAccount !== account) throw new TokenRejected(403, "token is for another account");
  return { sub: payload.sub, account: tokenAccount, expiresAt: payload.exp, ...(payload.jti ? { sessionId: payload.jti } : {}) };
}

/**
 * A valid user token: whose it is, for which account, until when (seconds since the epoch) and, for a
 * browser's session, the session's id (`jti`): a session ends at sign-out, before its expiry.
 */
export interface VerifiedUserToken {
  sub: string;
  account: string;
  expiresAt: number;
  sessionId?: string;
}

/** A service token: the platform itself, calling this account. */
export async function verifyServiceToken(token: string, publicJwk: string, account: string): Promise<void> {
  const payload = await verifySigned(token, publicJwk, MAX_SERVICE_TOKEN_SECONDS);
  if (payload.aud !== serviceAudienceFor(account) || payload.sub !== PLATFORM_SUBJECT) throw new TokenRejected(401, "token is not a service token for this account");
}

/** Signs a token for one account's user (with `sessionId`, a browser session's); only the platform holds the private key. */
export function signToken(privateJwk: string, account: string, userId: string, ttlSeconds: number, sessionId?: string): Promise<string> {
  if (!UserId.safeParse(userId).success) throw new RangeError(`not a user id: ${userId}`);
  if (ttlSeconds > MAX_USER_TOKEN_SECONDS) throw new RangeError(`user tokens live at most ${MAX_USER_TOKEN_SECONDS} seconds`);
  return sign(privateJwk, audienceFor(account), userId, ttlSeconds, sessionId);
}

/** Signs a service token for the platform's own call to one account. */
export function signServiceToken(privateJwk: string, account: string, ttlSeconds = 60): Promise<string> {
  if (ttlSeconds > MAX_SERVICE_TOKEN_SECONDS) throw new RangeError(`service tokens live at most ${MAX_SERVICE_TOKEN_SECONDS} seconds`);
  return sign(privateJwk, serviceAudienceFor(account), PLATFORM_SUBJECT, ttlSeconds);
}

async function sign(privateJwk: string, audience: string, subject: string, ttlSeconds: number, jti?: string): Promise<string> {
  const { SignJWT } = await import("jose");
  const key = await importJWK(JSON.parse(privateJwk), "ES256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(jti ? { jti } : {})
    .setProtectedHeader({ alg: "ES256", typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(audience)
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key);
}
