// The advisers' web app, server-rendered by the account's own Worker with Hono (ADR 0037): the
// platform routes a browser here with its session as the user's token. Every page reads and writes
// through the account API in-process (api.ts), as the signed-in user.
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { AccountContext } from "../env";
import { BOOKMARK_HEADER } from "../sessions";
import { Api, type ApiFetch } from "./api";
import { clientPage } from "./client-page";
import { clientPages } from "./clients";
import { recordPages } from "./records";
import type { WebContext } from "./layout";
import { userPages } from "./users";

export function webApp(fetchApi: ApiFetch) {
  const pages = new Hono<WebContext>();
  pages.use("*", createMiddleware<WebContext>(async (c, next) => {
    const principal = c.var.principal;
    if (principal.kind !== "user") return c.notFound();
    const api = new Api(c, fetchApi);
    c.set("api", api);
    const me = await c.var.db.prepare("SELECT name, role FROM users WHERE id = ?").bind(principal.id).first<{ name: string; role: string }>();
    c.set("me", me ?? { name: "?", role: principal.role });
    await next();
    // The page's reads and writes ran in sessions of their own: the browser keeps the latest bookmark.
    if (api.bookmark) c.res.headers.set(BOOKMARK_HEADER, api.bookmark);
  }));
  pages.route("/", clientPages);
  pages.route("/", recordPages);
  pages.route("/", clientPage);
  pages.route("/", userPages);
  return pages as unknown as Hono<AccountContext>;
}
