// The clients list (search, filters, order, paging — the API's own rules and keyset cursors), and the
// form that creates a client (editing any record: records.ts).
import { Hono } from "hono";
import { html } from "hono/html";
import { clients } from "../entities/catalog";
import { ClientStatus } from "../models/client";
import type { Page } from "./api";
import { formValues } from "./forms";
import { appPage, can, type WebContext } from "./layout";
import { inputOf, KINDS, recordForm } from "./records";

export interface Client {
  id: string;
  name: string;
  status: string;
  email?: string;
  phone?: string;
  dateOfBirth?: string;
  notes?: string;
  tracking: { version: number; updatedAt: string; updatedBy: string };
}

const SORTS = [
  ["name", "Name (A–Z)"],
  ["-name", "Name (Z–A)"],
  ["-createdAt", "Newest first"],
  ["-updatedAt", "Recently changed"],
] as const;
const PAGE_SIZES = ["10", "25", "50"];
const LIST_FIELDS = ["nameStartsWith", "email", "status", "sort", "limit"];

export const clientPages = new Hono<WebContext>()
  .get("/", async (c) => {
    // What the form sent, with its empty fields left out (an empty filter filters nothing).
    const params = Object.fromEntries(Object.entries(c.req.query()).filter(([, value]) => value !== ""));
    params.limit ??= "25";
    if (params.nameStartsWith && params.sort === undefined) params.sort = "name";
    const found = await c.var.api.get<Page<Client>>(`/api/clients?${new URLSearchParams(params)}`);
    const problem = found.ok ? undefined : found.problem;
    const rows = found.ok ? found.body.items : [];
    const next = found.ok && found.body.nextCursor ? `?${new URLSearchParams({ ...params, cursor: found.body.nextCursor })}` : undefined;
    const selected = (name: string, value: string) => ((params[name] ?? "") === value ? "selected" : "");
    const errorFor = (name: string) => (problem?.field === name ? html`<p class="error" id="${name}-error">${problem.message}</p>` : "");
    const invalid = (name: string) => (problem?.field === name ? html`aria-invalid="true" aria-describedby="${name}-error"` : "");
    return appPage(c, "Clients", html`
      <h1>Clients</h1>
      ${can(c, clients, "write") ? html`<p><a href="/clients/new">New client</a></p>` : ""}
      <form method="get" action="/" aria-label="Find clients">
        <label for="nameStartsWith">Name starts with</label>
        <input id="nameStartsWith" name="nameStartsWith" type="search" maxlength="200" value="${params.nameStartsWith ?? ""}" ${invalid("nameStartsWith")}>
        ${errorFor("nameStartsWith")}
        <label for="email">E-mail</label>
        <input id="email" name="email" type="email" value="${params.email ?? ""}" ${invalid("email")}>
        ${errorFor("email")}
        <label for="status">Status</label>
        <select id="status" name="status" ${invalid("status")}>
          <option value="" ${selected("status", "")}>Any</option>
          ${ClientStatus.options.map((status) => html`<option value="${status}" ${selected("status", status)}>${status}</option>`)}
        </select>
        ${errorFor("status")}
        <label for="sort">Order</label>
        <select id="sort" name="sort" ${invalid("sort")}>
          ${SORTS.map(([value, label]) => html`<option value="${value}" ${selected("sort", value)}>${label}</option>`)}
        </select>
        ${errorFor("sort")}
        <label for="limit">Per page</label>
        <select id="limit" name="limit" ${invalid("limit")}>
          ${PAGE_SIZES.map((size) => html`<option value="${size}" ${selected("limit", size)}>${size}</option>`)}
        </select>
        ${errorFor("limit")}
        ${problem && !LIST_FIELDS.includes(problem.field ?? "") ? html`<p class="error" role="alert">${problem.message}</p>` : ""}
        <button type="submit">Show</button>
      </form>
      ${rows.length === 0
        ? html`<p>No clients match.</p>`
        : html`<table><caption>Clients</caption><thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Status</th></tr></thead>
            <tbody>${rows.map((client) => html`<tr><td><a href="/clients/${encodeURIComponent(client.id)}">${client.name}</a></td><td>${client.email ?? ""}</td><td>${client.status}</td></tr>`)}</tbody></table>`}
      ${next ? html`<p><a href="${next}" rel="next">Next page</a></p>` : ""}`, found.ok ? 200 : found.status);
  })
  .get("/clients/new", (c) => recordForm(c, KINDS.clients!, "New client", "/clients/new", { status: "prospect" }))
  .post("/clients/new", async (c) => {
    const values = await formValues(c.req);
    const created = await c.var.api.call<Client>("POST", "/api/clients", { json: inputOf(KINDS.clients!, values) });
    if (!created.ok) return recordForm(c, KINDS.clients!, "New client", "/clients/new", values, created.problem, created.status);
    return c.redirect(`/clients/${encodeURIComponent(created.body.id)}`, 303);
  });
