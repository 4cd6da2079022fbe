// Platform-signed tokens (ES256): iss "platform", aud "account:<slug>", sub "<user id>" or "platform".
// Both Workers check them with this code: the platform before routing, each account Worker again on
// arrival (its URL is reachable directly, so it trusts nothing it has not checked itself).
import { errors, importJWK, jwtVerify, type CryptoKey, type JWTPayload } from "jose";

export const TOKEN_ISSUER = "platform";
export const audienceFor = (account: string) => `account:${account}`;

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

/** Verifies signature, issuer and expiry; with `account`, also that the token is for that account. */
export async function verifyToken(token: string, publicJwk: string, account?: string): Promise<JWTPayload & { sub: string; account: string }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await keyFrom(publicJwk), { issuer: TOKEN_ISSUER, algorithms: ["ES256"] }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new TokenRejected(401, "token expired");
    if (error instanceof errors.JWSSignatureVerificationFailed) throw new TokenRejected(401, "token signature is not valid");
    throw new TokenRejected(401, "token is not valid");
  }
  const audience = typeof payload.aud === "string" ? payload.aud : undefined;
  if (!audience?.startsWith("account:") || typeof payload.sub !== "string") throw new TokenRejected(401, "token is not valid");
  const tokenAccount = audience.slice("account:".length);
  if (account !== undefined && tokenAccount !== account) throw new TokenRejected(403, "token is for another account");
  return { ...payload, sub: payload.sub, account: tokenAccount };
}

/** Signs a token for one account's user (or "platform"); only the platform holds the private key. */
export async function signToken(privateJwk: string, account: string, subject: string, ttlSeconds: number): Promise<string> {
  const { SignJWT } = await import("jose");
  const key = await importJWK(JSON.parse(privateJwk), "ES256");
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(audienceFor(account))
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key);
}
