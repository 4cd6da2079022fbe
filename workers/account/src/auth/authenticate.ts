import { createMiddleware } from "hono/factory";
import type { AccountContext, Principal } from "../env";
import { problem } from "../../../shared/http";
import { bearerToken, TokenRejected, verifyServiceToken, verifyToken } from "../../../shared/auth";
import { loadPrincipal } from "./principals";
import { requestBookmark } from "../sessions";

/**
 * Every /api request carries a platform-signed user token for exactly this account (aud
 * account:<id>, sub one of its users). The account Worker checks it itself, so reaching the
 * Worker's URL directly bypasses nothing. The user's role is read from this account's own users
 * table, so a change applies at once.
 */
export const authenticate = createMiddleware<AccountContext>(async (c, next) => {
  let subject: string;
  let sessionId: string | undefined;
  try {
    ({ sub: subject, sessionId } = await verifyToken(bearerToken(c.req.header("authorization")), c.env.AUTH_PUBLIC_KEY, c.env.ACCOUNT_ID));
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    // From the account's own point of view, a token for another account is simply not valid here.
    return problem(c, 401, "unauthenticated", `authorization: ${error.message}`, "authorization");
  }
  // A browser session signed out is over, whatever its token's expiry. Asked of the primary (outside
  // the request's session): a replica that has not yet seen the sign-out must not revive it.
  if (sessionId && (await c.env.DB.prepare("SELECT 1 FROM ended_sessions WHERE session_id = ?").bind(sessionId).first())) {
    return problem(c, 401, "unauthenticated", "authorization: this session was signed out", "authorization");
  }
  // Reads may use the cached role; a request that changes data reads it from D1 (see principals.ts).
  const changesData = c.req.method !== "GET" && c.req.method !== "HEAD";
  const user = await loadPrincipal(c.env, c.var.db, subject, requestBookmark(c), changesData);
  if (!user) return problem(c, 401, "unauthenticated", "authorization: the token's user does not exist in this account", "authorization");
  if (user.status !== "active") return problem(c, 403, "forbidden", "authorization: this user is disabled", "authorization");
  const principal: Principal = { kind: "user", id: subject, role: user.role };
  c.set("principal", principal);
  await next();
});

/**
 * /platform requests are the platform's own calls (a service token for this account, minutes
 * long): it manages the account's users — its first owner, and whether a user it signs a token
 * for is active. Nothing else of the account is reachable this way.
 */
export const authenticatePlatform = createMiddleware<AccountContext>(async (c, next) => {
  try {
    await verifyServiceToken(bearerToken(c.req.header("authorization")), c.env.AUTH_PUBLIC_KEY, c.env.ACCOUNT_ID);
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    return problem(c, 401, "unauthenticated", `authorization: ${error.message}`, "authorization");
  }
  c.set("principal", { kind: "platform", id: "platform" });
  await next();
});
