// Browser sessions on a tenant's host (<slug>.<TENANT_DOMAIN>, or its own active domain). The
// account's Worker checks the password (credentials live only in its D1); the platform issues the
// session — a user token for that account — in an HttpOnly, SameSite=Strict cookie with no Domain
// attribute, so it is sent to that one host only. A request carrying the cookie is routed as if it
// carried the token; one that changes data must also come from the host's own pages (Origin).
import type { Context } from "hono";
import { html } from "hono/html";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { serialize } from "hono/utils/cookie";
import type { PlatformEnv } from "../env";
import type { Account } from "../models/account";
import { signServiceToken, signToken, verifyToken } from "../../../shared/auth";
import { page } from "../../../shared/page";
import { BOOKMARK_HEADER } from "../../../shared/http";

type Ctx = Context<{ Bindings: PlatformEnv }>;

export const SESSION_COOKIE = "session";
/**
 * The browser's D1 bookmark (the account Worker's x-d1-bookmark), kept beside the session so that a
 * page after a change (a form's redirect) reads that change, as an API client sending the header does.
 */
export const BOOKMARK_COOKIE = "d1-bookmark";
/** A session lasts a working day; signing in again starts a new one. */
export const SESSION_SECONDS = 8 * 3600;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The bearer token a browser request carries in its session cookie, if any. */
export function sessionToken(c: Ctx): string | undefined {
  return getCookie(c, SESSION_COOKIE) || undefined;
}

/**
 * Whether a request that changes data comes from this host's own pages: the browser says where a
 * request came from in Origin (and, SameSite=Strict aside, that is what stops another site's form).
 */
export function sameOrigin(c: Ctx): boolean {
  if (SAFE_METHODS.has(c.req.method)) return true;
  const origin = c.req.header("origin");
  return origin !== undefined && origin === new URL(c.req.url).origin;
}

/** GET /sign-in: the form. */
export function signInPage(c: Ctx, tenant: string, problemText?: string, email = "", status: 200 | 401 | 403 | 429 = 200) {
  return c.html(page(`Sign in — ${tenant}`, html`
    <main>
      <h1>Sign in to ${tenant}</h1>
      ${problemText ? html`<p role="alert" id="sign-in-error" class="error">${problemText}</p>` : ""}
      <form method="post" action="/sign-in" ${problemText ? html`aria-describedby="sign-in-error"` : ""}>
        <label for="email">E-mail</label>
        <input id="email" name="email" type="email" autocomplete="username" required value="${email}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required minlength="12">
        <button type="submit">Sign in</button>
      </form>
    </main>`), status);
}

/**
 * POST /sign-in: the account's Worker checks e-mail and password; right, the session cookie is set
 * and the browser goes to the app; wrong, the form again with one answer whatever was wrong.
 */
export async function signIn(c: Ctx, account: Account): Promise<Response> {
  if (!sameOrigin(c)) return signInPage(c, account.slug, "This form must be sent from this site's own sign-in page.", "", 403);
  const form = await c.req.parseBody();
  const email = typeof form.email === "string" ? form.email : "";
  const password = typeof form.password === "string" ? form.password : "";
  const check = await fetch(new URL("/platform/sign-in", account.routing!.workerUrl), {
    method: "POST",
    headers: { authorization: `Bearer ${await signServiceToken(c.env.AUTH_PRIVATE_KEY, account.slug)}`, "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (check.status === 429) {
    return signInPage(c, account.slug, `Too many failed sign-ins for this address. Try again in ${check.headers.get("retry-after") ?? "a few"} seconds.`, email, 429);
  }
  if (!check.ok) return signInPage(c, account.slug, "That e-mail address and password do not match an account user.", email, 401);
  const { userId } = (await check.json()) as { userId: string };
  // A new session starts reading afresh: a bookmark from an earlier one may name another database.
  deleteCookie(c, BOOKMARK_COOKIE, { path: "/" });
  const token = await signToken(c.env.AUTH_PRIVATE_KEY, account.slug, userId, SESSION_SECONDS, crypto.randomUUID());
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: SESSION_SECONDS,
  });
  return c.redirect("/", 303);
}

/** A browser request on its way to the account's Worker: with the bookmark its last answer left. */
export function sendSessionBookmark(c: Ctx, forwarded: Request) {
  const bookmark = getCookie(c, BOOKMARK_COOKIE);
  if (bookmark && !forwarded.headers.has(BOOKMARK_HEADER)) forwarded.headers.set(BOOKMARK_HEADER, bookmark);
}

/** The account Worker's answer to a browser: its bookmark kept in a cookie for the next request. */
export async function keepSessionBookmark(c: Ctx, response: Response): Promise<Response> {
  // A bookmark D1 will not take (a database replaced under a reused name): forgotten, not sent forever.
  if (response.status === 400 && getCookie(c, BOOKMARK_COOKIE)) {
    const problem = (await response.clone().json().catch(() => ({}))) as { field?: string };
    if (problem.field === BOOKMARK_HEADER) {
      const cleared = new Response(response.body, response);
      cleared.headers.append("set-cookie", serialize(BOOKMARK_COOKIE, "", { path: "/", maxAge: 0 }));
      return cleared;
    }
  }
  const bookmark = response.headers.get(BOOKMARK_HEADER);
  if (!bookmark || bookmark === getCookie(c, BOOKMARK_COOKIE)) return response;
  const kept = new Response(response.body, response);
  kept.headers.append("set-cookie", serialize(BOOKMARK_COOKIE, bookmark, {
    path: "/", httpOnly: true, sameSite: "Strict", maxAge: SESSION_SECONDS, secure: new URL(c.req.url).protocol === "https:",
  }));
  return kept;
}

/**
 * POST /sign-out: the session ends on the server (the account's Worker refuses its token from now on,
 * so a copy of the cookie is worth nothing) and the cookies go; the browser goes back to the form.
 */
export async function signOut(c: Ctx, account: Account): Promise<Response> {
  if (!sameOrigin(c)) return c.text("Sign-out must be sent from this site's own pages.", 403);
  const token = sessionToken(c);
  const session = token ? await verifyToken(token, c.env.AUTH_PUBLIC_KEY, account.slug).catch(() => undefined) : undefined;
  if (session?.sessionId) {
    const ended = await fetch(new URL(`/platform/sessions/${session.sessionId}/end`, account.routing!.workerUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${await signServiceToken(c.env.AUTH_PRIVATE_KEY, account.slug)}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresAt: session.expiresAt }),
    }).catch(() => undefined);
    // Not ended: say so rather than pretend; the cookie stays and signing out can be tried again.
    if (!ended?.ok) return c.html(page("Sign-out did not complete", html`<main><h1>Sign-out did not complete</h1><p>The firm's service did not answer. Your session is still open: <a href="/">go back</a> and sign out again.</p></main>`), 503);
  }
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: new URL(c.req.url).protocol === "https:" });
  deleteCookie(c, BOOKMARK_COOKIE, { path: "/", secure: new URL(c.req.url).protocol === "https:" });
  return c.redirect("/sign-in", 303);
}
