// Signing in: the platform asks (service token) whether an e-mail and password are right; users set
// their own password, administrators anyone's. The session itself is the platform's (a user token).
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AccountContext } from "../env";
import { problem, readJson } from "../../../shared/http";
import { ALGORITHM, Password, hashPassword, verifyPassword, waitAfterFailures, type StoredCredential } from "./credentials";
import { isAllowed } from "./permissions";

const SignIn = z.strictObject({ email: z.string(), password: z.string() });
const SetPassword = z.strictObject({ password: Password });

/** The one answer to a wrong e-mail, a wrong password, a disabled user or a user with no password. */
const NOT_RECOGNISED = "email or password: not recognised";

/** POST /platform/sign-in — { userId } for a right e-mail and password, else 401 (429 while slowed). */
export const signIn = new Hono<AccountContext>().post("/", async (c) => {
  const { email: given, password } = await readJson(c, SignIn);
  const email = given.trim().toLowerCase();
  const now = Date.now();
  const failed = await c.var.db.prepare("SELECT failures, last_failed_at FROM sign_in_failures WHERE email = ?").bind(email).first<{ failures: number; last_failed_at: number }>();
  const wait = failed ? failed.last_failed_at + waitAfterFailures(failed.failures) - now : 0;
  if (wait > 0) {
    c.header("retry-after", String(Math.ceil(wait / 1000)));
    return problem(c, 429, "slowed_down", `email: too many failed sign-ins; try again in ${Math.ceil(wait / 1000)} s`, "email");
  }
  const user = await c.var.db
    .prepare("SELECT u.id, u.status, c.algorithm, c.iterations, c.salt, c.hash FROM users u LEFT JOIN credentials c ON c.user_id = u.id WHERE lower(u.email) = ?")
    .bind(email)
    .first<{ id: string; status: string } & StoredCredential>();
  const stored = user?.algorithm ? { algorithm: user.algorithm, iterations: user.iterations, salt: user.salt, hash: user.hash } : null;
  const right = (await verifyPassword(password, stored)) && user?.status === "active";
  if (!right) {
    await c.var.db
      .prepare("INSERT INTO sign_in_failures (email, failures, last_failed_at) VALUES (?1, 1, ?2) ON CONFLICT (email) DO UPDATE SET failures = failures + 1, last_failed_at = ?2")
      .bind(email, now)
      .run();
    return problem(c, 401, "unauthenticated", NOT_RECOGNISED, "email");
  }
  if (failed) await c.var.db.prepare("DELETE FROM sign_in_failures WHERE email = ?").bind(email).run();
  return c.json({ userId: user!.id });
});

const EndSession = z.strictObject({ expiresAt: z.number().check(z.int(), z.positive()) });

/**
 * POST /platform/sessions/:id/end — a browser signed out: its session's token is refused from now
 * on (authenticate.ts), though it has not expired. Expired sessions are forgotten on the way.
 */
export const sessions = new Hono<AccountContext>().post("/:id/end", async (c) => {
  const { expiresAt } = await readJson(c, EndSession);
  const id = c.req.param("id");
  if (!/^[0-9a-f-]{36}$/.test(id)) return problem(c, 400, "validation_failed", "id: a session id is a UUID", "id");
  await c.var.db.batch([
    c.var.db.prepare("INSERT OR IGNORE INTO ended_sessions (session_id, expires_at) VALUES (?, ?)").bind(id, expiresAt),
    c.var.db.prepare("DELETE FROM ended_sessions WHERE expires_at < ?").bind(Math.floor(Date.now() / 1000)),
  ]);
  return c.body(null, 204);
});

/** PUT /api/users/:id/password — a user's own, or anyone's for an administrator. */
export const passwords = new Hono<AccountContext>().put("/:id/password", async (c) => {
  const id = c.req.param("id");
  const principal = c.var.principal;
  const own = principal.kind === "user" && principal.id === id;
  if (!own && !isAllowed(principal, "users", "administrator")) {
    return problem(c, 403, "forbidden", "id: only the user or an administrator sets a password", "id");
  }
  const { password } = await readJson(c, SetPassword);
  const user = await c.var.db.prepare("SELECT email FROM users WHERE id = ?").bind(id).first<{ email: string }>();
  if (!user) return problem(c, 404, "not_found", `id: no user ${id}`, "id");
  const credential = await hashPassword(password);
  await c.var.db.batch([
    c.var.db
      .prepare("INSERT INTO credentials (user_id, algorithm, iterations, salt, hash, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (user_id) DO UPDATE SET algorithm = ?2, iterations = ?3, salt = ?4, hash = ?5, updated_at = ?6")
      .bind(id, ALGORITHM, credential.iterations, credential.salt, credential.hash, new Date().toISOString()),
    // A new password lifts any slowing-down of the user's address.
    c.var.db.prepare("DELETE FROM sign_in_failures WHERE email = ?").bind(String(user.email).toLowerCase()),
  ]);
  return c.body(null, 204);
});
