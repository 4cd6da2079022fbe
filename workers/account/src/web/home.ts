// The advisers' web app, server-rendered by the account's own Worker (its first page: who is signed
// in, and the firm's clients). The platform routes a browser here with its session as the token.
import { Hono } from "hono";
import { html } from "hono/html";
import type { AccountContext } from "../env";
import { page } from "../../../shared/page";

export const home = new Hono<AccountContext>().get("/", async (c) => {
  const principal = c.var.principal;
  if (principal.kind !== "user") return c.notFound();
  const user = await c.var.db.prepare("SELECT name, role FROM users WHERE id = ?").bind(principal.id).first<{ name: string; role: string }>();
  const { results: clients } = await c.var.db
    .prepare("SELECT id, name, status FROM clients WHERE deleted_at IS NULL ORDER BY name, id LIMIT 20")
    .all<{ id: string; name: string; status: string }>();
  return c.html(page("Clients", html`
    <header>
      <p>Signed in as <strong>${user?.name ?? "?"}</strong> (${user?.role ?? principal.role})</p>
      <form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
    </header>
    <main>
      <h1>Clients</h1>
      ${clients.length === 0
        ? html`<p>No clients yet.</p>`
        : html`<table><thead><tr><th scope="col">Name</th><th scope="col">Status</th></tr></thead>
            <tbody>${clients.map((client) => html`<tr><td>${client.name}</td><td>${client.status}</td></tr>`)}</tbody></table>`}
    </main>`));
});
