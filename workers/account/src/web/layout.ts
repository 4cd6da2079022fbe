// The web app's frame: who is signed in, where they can go, and sign-out; and the page context.
import type { Context } from "hono";
import { html } from "hono/html";
import type { AccountEnv, Principal } from "../env";
import { errorTitle, page } from "../../../shared/page";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { users } from "../entities/catalog";
import { isAllowed, type Action } from "../auth/permissions";
import type { EntityDefinition } from "../entities/definition";
import type { Api } from "./api";

export type WebContext = { Bindings: AccountEnv; Variables: { principal: Principal; db: D1DatabaseSession; api: Api; me: { name: string; role: string } } };
export type WebCtx = Context<WebContext>;
export type Html = ReturnType<typeof html>;

/** Whether the signed-in user may do `action` to `def` (the API refuses anyway; pages hide what it would refuse). */
export function can(c: WebCtx, def: EntityDefinition, action: Action): boolean {
  return isAllowed(c.var.principal, def.name, def.permissions[action]);
}

/** A page of the app, with its navigation; `status` for pages that answer an error. */
export function appPage(c: WebCtx, title: string, body: Html | Promise<Html>, status = 200) {
  const administers = can(c, users, "write");
  return c.html(page(title, html`
    <header>
      <nav aria-label="Main">
        <a href="/">Clients</a>
        ${administers ? html` · <a href="/users">Users and groups</a>` : ""}
      </nav>
      <p>Signed in as <strong>${c.var.me.name}</strong> (${c.var.me.role})</p>
      <form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
    </header>
    <main>${body}</main>`), status as ContentfulStatusCode);
}

/** An error the API answered, as a page of the app (its status kept): 404, 403, and the like. */
export function problemPage(c: WebCtx, status: number, message: string) {
  const title = errorTitle(status);
  return appPage(c, title, html`<h1>${title}</h1><p>${message}</p><p><a href="/">Back to the clients list</a></p>`, status);
}
