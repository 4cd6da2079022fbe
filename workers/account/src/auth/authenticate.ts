import { createMiddleware } from "hono/factory";
import { errors, importJWK, jwtVerify, type CryptoKey, type JWTPayload } from "jose";
import type { AccountContext, AccountEnv, Principal } from "../env";
import { problem } from "../../../shared/http";
import { loadPrincipal } from "./principals";

export const TOKEN_ISSUER = "platform";
export const audienceFor = (accountId: string) => `account:${accountId}`;

let cachedKey: { jwk: string; key: CryptoKey | Uint8Array } | undefined;
async function publicKey(env: AccountEnv) {
  if (cachedKey?.jwk !== env.AUTH_PUBLIC_KEY) {
    cachedKey = { jwk: env.AUTH_PUBLIC_KEY, key: await importJWK(JSON.parse(env.AUTH_PUBLIC_KEY), "ES256") };
  }
  return cachedKey.key;
}

/**
 * Every /api request carries a platform-signed token for exactly this account (aud account:<id>).
 * The account Worker checks it itself, so reaching the Worker's URL directly bypasses nothing.
 * The user's role is read from this account's own users table, so a change applies at once.
 */
export const authenticate = createMiddleware<AccountContext>(async (c, next) => {
  const header = c.req.header("authorization");
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return problem(c, 401, "unauthenticated", "authorization: a Bearer token is required", "authorization");

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, await publicKey(c.env), {
      issuer: TOKEN_ISSUER,
      audience: audienceFor(c.env.ACCOUNT_ID),
      algorithms: ["ES256"],
    }));
  } catch (error) {
    return problem(c, 401, "unauthenticated", `authorization: ${describe(error)}`, "authorization");
  }
  if (typeof payload.sub !== "string") return problem(c, 401, "unauthenticated", "authorization: token has no subject", "authorization");

  let principal: Principal | null;
  if (payload.sub === "platform") principal = { kind: "platform", id: "platform" };
  else {
    const user = await loadPrincipal(c.env, payload.sub);
    if (!user) return problem(c, 401, "unauthenticated", "authorization: the token's user does not exist in this account", "authorization");
    if (user.status !== "active") return problem(c, 403, "forbidden", "authorization: this user is disabled", "authorization");
    principal = { kind: "user", id: payload.sub, role: user.role };
  }
  c.set("principal", principal);
  await next();
});

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === "aud") return "token is for another account";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "token signature is not valid";
  return "token is not valid";
}
