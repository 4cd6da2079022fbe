// The clients list (search, filters, order, paging — the API's own rules and keyset cursors), and the
// forms that create and edit a client. Editing sends the version the form was read at: a change made
// by someone else meanwhile is refused by the API (412) and shown as "someone else changed this".
import { Hono } from "hono";
import { html } from "hono/html";
import { clients } from "../entities/catalog";
import { ClientStatus } from "../models/client";
import type { Page, Problem } from "./api";
import { field, formProblem, formValues } from "./forms";
import { appPage, can, problemPage, type WebContext, type WebCtx } from "./layout";

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
/** What a client form sends: the API's field names. */
const CLIENT_FIELDS = ["name", "email", "phone", "status", "dateOfBirth", "notes"];

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
  .get("/clients/new", (c) => clientForm(c, "New client", "/clients/new", { status: "prospect" }))
  .post("/clients/new", async (c) => {
    const values = await formValues(c.req);
    const created = await c.var.api.call<Client>("POST", "/api/clients", { json: pick(values, CLIENT_FIELDS) });
    if (!created.ok) return clientForm(c, "New client", "/clients/new", values, created.problem, created.status);
    return c.redirect(`/clients/${created.body.id}`, 303);
  })
  .get("/clients/:id/edit", async (c) => {
    const found = await c.var.api.get<Client>(`/api/clients/${encodeURIComponent(c.req.param("id"))}`);
    if (!found.ok) return problemPage(c, found.status, found.problem.message);
    return clientForm(c, `Edit ${found.body.name}`, `/clients/${encodeURIComponent(found.body.id)}/edit`, { ...asValues(found.body), version: String(found.body.tracking.version) });
  })
  .post("/clients/:id/edit", async (c) => {
    const id = c.req.param("id");
    const values = await formValues(c.req);
    const path = `/api/clients/${encodeURIComponent(id)}`;
    const saved = await c.var.api.call<Client>("PATCH", path, { json: pick(values, CLIENT_FIELDS), version: Number(values.version) });
    const page = `/clients/${encodeURIComponent(id)}`;
    if (saved.ok) return c.redirect(page, 303);
    if (saved.status !== 412) return clientForm(c, "Edit client", `${page}/edit`, values, saved.problem, saved.status);
    // Someone else saved first: their version is shown, the form keeps what this user typed and now
    // carries the new version, so saving again is a choice made knowing what it replaces.
    const latest = await c.var.api.get<Client>(path);
    if (!latest.ok) return problemPage(c, latest.status, latest.problem.message);
    const theirs = latest.body;
    return clientForm(c, "Edit client", `${page}/edit`, { ...values, version: String(theirs.tracking.version) }, undefined, 412, html`
      <div role="alert" class="conflict">
        <h2>Someone else changed this client while you were editing</h2>
        <p>Their version is below. Your changes are still in the form: save again to replace theirs, or <a href="${page}">leave without saving</a>.</p>
        <dl>${CLIENT_FIELDS.map((name) => html`<dt>${name}</dt><dd>${(asValues(theirs) as Record<string, string>)[name] ?? "—"}</dd>`)}</dl>
      </div>`);
  });

function asValues(client: Client): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of CLIENT_FIELDS) {
    const value = (client as unknown as Record<string, unknown>)[name];
    if (typeof value === "string") values[name] = value;
  }
  return values;
}

function pick(values: Record<string, string>, names: string[]) {
  return Object.fromEntries(names.filter((name) => values[name] !== undefined).map((name) => [name, values[name]]));
}

function clientForm(c: WebCtx, title: string, action: string, values: Record<string, string>, problem?: Problem, status = 200, notice: ReturnType<typeof html> | "" = "") {
  return appPage(c, title, html`
    <h1>${title}</h1>
    ${notice}
    <form method="post" action="${action}">
      ${formProblem(problem, CLIENT_FIELDS)}
      ${values.version ? html`<input type="hidden" name="version" value="${values.version}">` : ""}
      ${field({ label: "Name", name: "name", value: values.name, required: true, maxLength: 200, problem })}
      ${field({ label: "E-mail", name: "email", type: "email", value: values.email, maxLength: 320, problem })}
      ${field({ label: "Phone", name: "phone", type: "tel", value: values.phone, maxLength: 40, problem })}
      ${field({ label: "Status", name: "status", value: values.status, options: ClientStatus.options, problem })}
      ${field({ label: "Date of birth", name: "dateOfBirth", type: "date", value: values.dateOfBirth, problem })}
      ${field({ label: "Notes", name: "notes", type: "textarea", value: values.notes, maxLength: 10000, problem })}
      <button type="submit">Save</button>
    </form>`, status);
}
