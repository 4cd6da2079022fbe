// The platform's admin page (issue 19): accounts with their status and routing metadata, their
// domains, sign up / resume / delete, and the marketplace providers. On the platform's own host,
// behind the admin token: given once in a form, kept in an HttpOnly, SameSite=Strict cookie for
// /console only, and sent to the admin API — which these pages call in-process, so its rules and
// messages are the pages' too.
import { Hono, type Context } from "hono";
import { html } from "hono/html";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { timingSafeEqual } from "hono/utils/buffer";
import type { PlatformEnv } from "../env";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Account } from "../models/account";
import { ProviderInput, type Provider } from "../models/provider";
import { errorPage, page } from "../../../shared/page";
import { formValues, type Problem } from "../../../shared/http";
import { sameOrigin, SESSION_SECONDS } from "./sessions";

type Ctx = Context<{ Bindings: PlatformEnv }>;
type AdminFetch = (request: Request, env: PlatformEnv) => Response | Promise<Response>;
interface DomainRow { hostname: string; status: string }
/** What an action's answer says on the page: done, or the problem and which form it is about. */
interface Notice { done?: string; problem?: Pick<Problem, "message" | "field">; form?: "signup" | "provider" }

const ADMIN_COOKIE = "admin";

export function adminConsole(fetchAdmin: AdminFetch) {
  /** The admin API as the signed-in administrator: the body, or the problem. */
  async function call<T>(c: Ctx, method: string, path: string, json?: unknown): Promise<{ ok: true; body: T } | { ok: false; status: number; problem: Problem }> {
    const response = await fetchAdmin(new Request(new URL(path, c.req.url), {
      method,
      headers: { authorization: `Bearer ${getCookie(c, ADMIN_COOKIE) ?? ""}`, "content-type": "application/json" },
      body: json === undefined ? undefined : JSON.stringify(json),
    }), c.env);
    const body = response.status === 204 ? undefined : await response.json().catch(() => undefined);
    return response.ok ? { ok: true, body: body as T } : { ok: false, status: response.status, problem: (body as Problem) ?? { message: `status ${response.status}` } };
  }

  async function render(c: Ctx, notice?: Notice, status = 200) {
    if (!getCookie(c, ADMIN_COOKIE)) return c.redirect("/console/sign-in", 303);
    const accounts = await call<{ items: Account[] }>(c, "GET", "/admin/accounts");
    if (!accounts.ok && accounts.status === 401) return c.redirect("/console/sign-in", 303);
    if (!accounts.ok) return c.html(errorPage(accounts.status, accounts.problem.message), accounts.status as 500);
    const providers = await call<{ items: Provider[] }>(c, "GET", "/admin/providers");
    const domains = await Promise.all(accounts.body.items.map((a) => (a.status === "active" ? call<{ items: DomainRow[] }>(c, "GET", `/admin/accounts/${a.slug}/domains`) : undefined)));
    // A problem is shown by the form it came from, next to its field when the form has that field.
    const about = (form: Notice["form"], name: string) => notice?.form === form && notice?.problem?.field === name;
    const error = (form: Notice["form"], name: string, id = name) => (about(form, name) ? html`<p class="error" id="${id}-error">${notice?.problem?.message}</p>` : "");
    const shown = about("signup", "slug") || about("signup", "name") || about("provider", "website") || about("provider", "name");
    return c.html(page("Platform admin", html`
      <header><form method="post" action="/console/sign-out"><button type="submit">Sign out</button></form></header>
      <main>
        <h1>Platform admin</h1>
        ${notice?.done ? html`<p role="status">${notice.done}</p>` : ""}
        ${notice?.problem && !shown ? html`<p class="error" role="alert">${notice.problem.message}</p>` : ""}
        <section aria-labelledby="accounts-title">
          <h2 id="accounts-title">Accounts</h2>
          <table><caption>Accounts</caption>
            <thead><tr><th scope="col">Account</th><th scope="col">Status</th><th scope="col">Routing</th><th scope="col">Domains</th><th scope="col">Actions</th></tr></thead>
            <tbody>${accounts.body.items.map((a, i) => {
              const found = domains[i];
              const list = found?.ok ? found.body.items : [];
              return html`<tr>
                <td>${a.name}<br><code>${a.slug}</code></td>
                <td>${a.status}${a.provisioning?.error ? html`<br><span class="error">${a.provisioning.error}</span>` : ""}${a.release?.error ? html`<br><span class="error">${a.release.error}</span>` : ""}</td>
                <td>${a.routing ? html`<code>${a.routing.workerUrl}</code><br>D1 ${a.routing.dbShardId} · R2 ${a.routing.r2Bucket} (${a.routing.jurisdiction})` : "—"}</td>
                <td>${list.length === 0 ? "—" : html`<ul>${list.map((d) => html`<li>${d.hostname} (${d.status})</li>`)}</ul>`}</td>
                <td>
                  <form method="post" action="/console/accounts/${a.slug}/provision"><button type="submit">Resume ${a.slug}</button></form>
                  <form method="post" action="/console/accounts/${a.slug}/delete">
                    <label><input type="checkbox" name="confirm" value="${a.slug}" required> delete ${a.slug} and all its data</label>
                    <button type="submit">Delete ${a.slug}</button>
                  </form>
                </td></tr>`;
            })}</tbody>
          </table>
          <form method="post" action="/console/accounts" aria-labelledby="signup-title">
            <h3 id="signup-title">Sign up an account</h3>
            <label for="slug">Slug (its host name)</label>
            <input id="slug" name="slug" required maxlength="63" ${about("signup", "slug") ? html`aria-invalid="true" aria-describedby="slug-error"` : ""}>
            ${error("signup", "slug")}
            <label for="name">Firm's name</label>
            <input id="name" name="name" required maxlength="200" ${about("signup", "name") ? html`aria-invalid="true" aria-describedby="name-error"` : ""}>
            ${error("signup", "name")}
            <button type="submit">Sign up</button>
          </form>
        </section>
        <section aria-labelledby="providers-title">
          <h2 id="providers-title">Marketplace providers</h2>
          ${providers.ok && providers.body.items.length > 0
            ? html`<ul>${providers.body.items.map((p) => html`<li>${p.name} — ${p.category}, ${p.region}${p.website ? html`, ${/^https?:\/\//i.test(p.website) ? html`<a href="${p.website}">${p.website}</a>` : p.website}` : ""}</li>`)}</ul>`
            : html`<p>No providers.</p>`}
          <form method="post" action="/console/providers" aria-labelledby="provider-title">
            <h3 id="provider-title">Add a provider</h3>
            <label for="provider-name">Name</label><input id="provider-name" name="name" required maxlength="200">
            ${error("provider", "name", "provider-name")}
            <label for="category">Category</label><select id="category" name="category">${ProviderInput.shape.category.options.map((o) => html`<option>${o}</option>`)}</select>
            <label for="region">Region</label><select id="region" name="region">${ProviderInput.shape.region.options.map((o) => html`<option>${o}</option>`)}</select>
            <label for="website">Website</label><input id="website" name="website" type="url">
            ${error("provider", "website")}
            <button type="submit">Add provider</button>
          </form>
        </section>
      </main>`), status as ContentfulStatusCode);
  }

  /** An admin action's answer: the page again, saying what happened (with the answer's status). */
  async function after(c: Ctx, answer: { ok: boolean; status?: number; problem?: Problem }, done: string, form?: Notice["form"]) {
    return answer.ok ? render(c, { done }) : render(c, { problem: answer.problem, form }, answer.status);
  }

  return new Hono<{ Bindings: PlatformEnv }>()
    .use("*", async (c, next) => {
      // A change must come from these pages (Origin), as on the tenants' hosts.
      if (!sameOrigin(c)) return c.html(page("Refused", html`<main><h1>Refused</h1><p>This form must be sent from the admin page itself.</p></main>`), 403);
      await next();
    })
    .get("/sign-in", (c) => signInPage(c))
    .post("/sign-in", async (c) => {
      const { token } = await formValues(c.req);
      if (!token || !(await timingSafeEqual(token, c.env.ADMIN_TOKEN))) return signInPage(c, "That is not the platform's admin token.", 401);
      setCookie(c, ADMIN_COOKIE, token, { path: "/console", httpOnly: true, sameSite: "Strict", maxAge: SESSION_SECONDS, secure: new URL(c.req.url).protocol === "https:" });
      return c.redirect("/console", 303);
    })
    .post("/sign-out", (c) => {
      deleteCookie(c, ADMIN_COOKIE, { path: "/console" });
      return c.redirect("/console/sign-in", 303);
    })
    .get("/", (c) => render(c))
    .post("/accounts", async (c) => after(c, await call(c, "POST", "/admin/accounts", await formValues(c.req)), "The account was signed up.", "signup"))
    .post("/accounts/:slug/provision", async (c) => {
      const slug = c.req.param("slug");
      return after(c, await call(c, "POST", `/admin/accounts/${encodeURIComponent(slug)}/provision`), `${slug}: provisioning resumed.`);
    })
    .post("/accounts/:slug/delete", async (c) => {
      const slug = c.req.param("slug");
      if ((await formValues(c.req)).confirm !== slug) return render(c, { problem: { message: `Tick the box to confirm deleting ${slug}.` } }, 400);
      return after(c, await call(c, "DELETE", `/admin/accounts/${encodeURIComponent(slug)}`), `${slug} was deleted.`);
    })
    .post("/providers", async (c) => after(c, await call(c, "POST", "/admin/providers", await formValues(c.req)), "The provider was added.", "provider"));
}

function signInPage(c: Ctx, problem?: string, status: 200 | 401 = 200) {
  return c.html(page("Platform admin — sign in", html`<main>
    <h1>Platform admin</h1>
    ${problem ? html`<p class="error" role="alert" id="token-error">${problem}</p>` : ""}
    <form method="post" action="/console/sign-in">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" required autocomplete="off" ${problem ? html`aria-describedby="token-error"` : ""}>
      <button type="submit">Sign in</button>
    </form>
  </main>`), status);
}
