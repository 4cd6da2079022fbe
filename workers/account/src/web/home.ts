// The advisers' web app, server-rendered by the account's own Worker: the firm's clients, filtered,
// sorted and paged by the same rules (and the same keyset cursors) as the API's list. The platform
// routes a browser here with its session as the token.
import { Hono } from "hono";
import { html } from "hono/html";
import { HTTPException } from "hono/http-exception";
import type { AccountContext } from "../env";
import { page } from "../../../shared/page";
import { clients } from "../entities/catalog";
import { nextCursor, parseListQuery } from "../entities/list-query";
import { list } from "../entities/store";
import { ClientStatus } from "../models/client";

const SORTS = [
  ["name", "Name (A–Z)"],
  ["-name", "Name (Z–A)"],
  ["-createdAt", "Newest first"],
  ["-updatedAt", "Recently changed"],
] as const;
const PAGE_SIZES = ["10", "25", "50"];

export const home = new Hono<AccountContext>().get("/", async (c) => {
  const principal = c.var.principal;
  if (principal.kind !== "user") return c.notFound();
  const user = await c.var.db.prepare("SELECT name, role FROM users WHERE id = ?").bind(principal.id).first<{ name: string; role: string }>();
  // What the form sent, with its empty fields left out (an empty filter filters nothing).
  const params = Object.fromEntries(Object.entries(c.req.query()).filter(([, value]) => value !== ""));
  params.limit ??= "25";
  let problem: { field: string; message: string } | undefined;
  let rows: { id: string; name: string; status: string; email?: string }[] = [];
  let next: string | undefined;
  try {
    const query = parseListQuery(clients, params);
    const found = await list(c.var.db, clients, query);
    rows = found.slice(0, query.limit).map((r) => JSON.parse(r.body) as { id: string; name: string; status: string; email?: string });
    const cursor = nextCursor(query, found, rows.at(-1)?.id);
    if (cursor) next = `?${new URLSearchParams({ ...params, cursor })}`;
  } catch (error) {
    if (!(error instanceof HTTPException)) throw error;
    // The API's 400 names the field; the page shows it next to that field.
    const body = (await error.getResponse().json()) as { field: string; message: string };
    problem = { field: body.field, message: body.message };
  }
  const errorFor = (field: string) => (problem?.field === field ? html`<p class="error" id="${field}-error">${problem.message}</p>` : "");
  const selected = (field: string, value: string) => ((params[field] ?? "") === value ? "selected" : "");
  return c.html(page("Clients", html`
    <header>
      <p>Signed in as <strong>${user?.name ?? "?"}</strong> (${user?.role ?? principal.role})</p>
      <form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
    </header>
    <main>
      <h1>Clients</h1>
      <form method="get" action="/" aria-label="Find clients">
        <label for="email">E-mail</label>
        <input id="email" name="email" type="email" value="${params.email ?? ""}" ${problem?.field === "email" ? html`aria-invalid="true" aria-describedby="email-error"` : ""}>
        ${errorFor("email")}
        <label for="status">Status</label>
        <select id="status" name="status">
          <option value="" ${selected("status", "")}>Any</option>
          ${ClientStatus.options.map((status) => html`<option value="${status}" ${selected("status", status)}>${status}</option>`)}
        </select>
        ${errorFor("status")}
        <label for="sort">Order</label>
        <select id="sort" name="sort">
          ${SORTS.map(([value, label]) => html`<option value="${value}" ${selected("sort", value)}>${label}</option>`)}
        </select>
        ${errorFor("sort")}
        <label for="limit">Per page</label>
        <select id="limit" name="limit">
          ${PAGE_SIZES.map((size) => html`<option value="${size}" ${selected("limit", size)}>${size}</option>`)}
        </select>
        ${errorFor("limit")}
        ${problem && !["email", "status", "sort", "limit"].includes(problem.field) ? html`<p class="error" role="alert">${problem.message}</p>` : ""}
        <button type="submit">Show</button>
      </form>
      ${rows.length === 0
        ? html`<p>No clients match.</p>`
        : html`<table><caption>Clients</caption><thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Status</th></tr></thead>
            <tbody>${rows.map((client) => html`<tr><td>${client.name}</td><td>${client.email ?? ""}</td><td>${client.status}</td></tr>`)}</tbody></table>`}
      ${next ? html`<p><a href="${next}" rel="next">Next page</a></p>` : ""}
    </main>`), problem ? 400 : 200);
});
