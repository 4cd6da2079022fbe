import { createMiddleware } from "hono/factory";
import type { AccountContext, Principal } from "../env";
import { problem } from "../../../shared/http";
import { bearerToken, TokenRejected, verifyToken } from "../../../shared/auth";
import { loadPrincipal } from "./principals";
import { requestBookmark } from "../sessions";

/**
 * Every /api request carries a platform-signed token for exactly this account (aud account:<id>).
 * The account Worker checks it itself, so reaching the Worker's URL directly bypasses nothing.
 * The user's role is read from this account's own users table, so a change applies at once.
 */
export const authenticate = createMiddleware<AccountContext>(async (c, next) => {
  let subject: string;
  try {
    subject = (await verifyToken(bearerToken(c.req.header("authorization")), c.env.AUTH_PUBLIC_KEY, c.env.ACCOUNT_ID)).sub;
  } catch (error) {
    if (!(error instanceof TokenRejected)) throw error;
    // From the account's own point of view, a token for another account is simply not valid here.
    return problem(c, 401, "unauthenticated", `authorization: ${error.message}`, "authorization");
  }

  let principal: Principal;
  if (subject === "platform") principal = { kind: "platform", id: "platform" };
  else {
    const user = await loadPrincipal(c.env, c.var.db, subject, requestBookmark(c));
    if (!user) return problem(c, 401, "unauthenticated", "authorization: the token's user does not exist in this account", "authorization");
    if (user.status !== "active") return problem(c, 403, "forbidden", "authorization: this user is disabled", "authorization");
    principal = { kind: "user", id: subject, role: user.role };
  }
  c.set("principal", principal);
  await next();
});
