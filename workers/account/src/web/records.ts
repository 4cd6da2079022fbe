// Editing any record a client's page shows — the client, a dependant, a case, a task, a contact —
// with one form per kind and one rule for conflicts: the form carries the version it was read at
// (If-Match); when someone else saved meanwhile the API refuses (412), and the page says "someone
// else changed this", shows their version and keeps what this user typed, now at the new version.
import { Hono } from "hono";
import { html } from "hono/html";
import { ClientStatus } from "../models/client";
import type { Problem } from "./api";
import { field, formProblem, formValues, type FieldSpec } from "./forms";
import { appPage, problemPage, type Html, type WebContext, type WebCtx } from "./layout";

type Spec = Omit<FieldSpec, "value" | "problem" | "form">;

/** A kind of record the app edits: its API entity, what it is called, and its form's fields. */
export interface RecordKind {
  entity: string;
  noun: string;
  /** The field that names a record on the page's title. */
  title: (record: Record<string, unknown>) => string;
  fields: Spec[];
}

const DATE = { type: "date" } as const;

export const KINDS: Record<string, RecordKind> = {
  clients: {
    entity: "clients",
    noun: "client",
    title: (r) => String(r.name),
    fields: [
      { label: "Name", name: "name", required: true, maxLength: 200 },
      { label: "E-mail", name: "email", type: "email", maxLength: 320 },
      { label: "Phone", name: "phone", type: "tel", maxLength: 40 },
      { label: "Status", name: "status", options: ClientStatus.options },
      { label: "Date of birth", name: "dateOfBirth", ...DATE },
      { label: "Notes", name: "notes", type: "textarea", maxLength: 10000 },
    ],
  },
  dependants: {
    entity: "dependants",
    noun: "dependant",
    title: (r) => String(r.name),
    fields: [
      { label: "Name", name: "name", required: true, maxLength: 200 },
      { label: "Relationship", name: "relationship", options: ["child", "spouse", "parent", "sibling", "other"] },
      { label: "Date of birth", name: "dateOfBirth", ...DATE },
    ],
  },
  cases: {
    entity: "cases",
    noun: "case",
    title: (r) => String(r.title),
    fields: [
      { label: "Title", name: "title", required: true, maxLength: 200 },
      { label: "Status", name: "status", options: ["open", "pending", "closed"] },
      { label: "Priority", name: "priority", options: ["normal", "low", "high"] },
      { label: "Opened", name: "openedAt", required: true, ...DATE },
      { label: "Closed", name: "closedAt", ...DATE },
      { label: "Description", name: "description", type: "textarea", maxLength: 10000 },
    ],
  },
  "case-tasks": {
    entity: "case-tasks",
    noun: "task",
    title: (r) => String(r.title),
    fields: [
      { label: "Task", name: "title", required: true, maxLength: 200 },
      { label: "Status", name: "status", options: ["todo", "doing", "done"] },
      { label: "Due", name: "dueDate", required: true, ...DATE },
    ],
  },
  "contact-individuals": {
    entity: "contact-individuals",
    noun: "contact",
    title: (r) => `${String(r.firstName)} ${String(r.lastName)}`,
    fields: [
      { label: "First name", name: "firstName", required: true, maxLength: 200 },
      { label: "Last name", name: "lastName", required: true, maxLength: 200 },
      { label: "E-mail", name: "email", type: "email", maxLength: 320 },
      { label: "Phone", name: "phone", type: "tel", maxLength: 40 },
      { label: "Job title", name: "jobTitle", maxLength: 100 },
    ],
  },
};

/** Some of a kind's fields, in the order given (an add form asks for fewer than the edit form shows). */
export function fieldsOf(kind: RecordKind, names: string[]): Spec[] {
  return names.map((name) => {
    const spec = kind.fields.find((f) => f.name === name);
    if (!spec) throw new Error(`${kind.entity} has no field ${name}`);
    return spec;
  });
}

/** The form of a kind of record: its fields with their values and the API's problem, if any. */
export function recordForm(c: WebCtx, kind: RecordKind, title: string, action: string, values: Record<string, string>, problem?: Problem, status = 200, notice: Html | "" = "") {
  return appPage(c, title, html`
    <h1>${title}</h1>
    ${notice}
    <form method="post" action="${action}">
      ${formProblem(problem, kind.fields.map((f) => f.name))}
      ${values.version ? html`<input type="hidden" name="version" value="${values.version}">` : ""}
      ${kind.fields.map((spec) => field({ ...spec, value: values[spec.name], problem }))}
      <button type="submit">Save</button>
    </form>`, status);
}

/** A form's values for the kind's fields only (what the API takes). */
export function inputOf(kind: RecordKind, values: Record<string, string>) {
  return Object.fromEntries(kind.fields.filter((f) => values[f.name] !== undefined).map((f) => [f.name, values[f.name]]));
}

function valuesOf(kind: RecordKind, record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(kind.fields.filter((f) => typeof record[f.name] === "string").map((f) => [f.name, record[f.name] as string]));
}

/** The page's own address (path and query): the Worker's own URL names its host, not the tenant's. */
function here(c: WebCtx): string {
  const url = new URL(c.req.url);
  return url.pathname + url.search;
}

/** Where a form goes back to: a client's page (or a section of it), never another site. */
function backTo(c: WebCtx): string {
  const back = c.req.query("back") ?? "/";
  return /^\/clients\/[0-9a-f-]{36}(#[a-z0-9-]+)?$/.test(back) ? back : "/";
}

type Stored = Record<string, unknown> & { id: string; tracking: { version: number } };

async function editPage(c: WebCtx, kind: RecordKind, id: string) {
  const found = await c.var.api.get<Stored>(`/api/${kind.entity}/${encodeURIComponent(id)}`);
  if (!found.ok) return problemPage(c, found.status, found.problem.message);
  return recordForm(c, kind, `Edit ${kind.title(found.body)}`, here(c), { ...valuesOf(kind, found.body), version: String(found.body.tracking.version) });
}

async function save(c: WebCtx, kind: RecordKind, id: string, back: string) {
  const values = await formValues(c.req);
  const path = `/api/${kind.entity}/${encodeURIComponent(id)}`;
  const saved = await c.var.api.call<Stored>("PATCH", path, { json: inputOf(kind, values), version: Number(values.version) });
  if (saved.ok) return c.redirect(back, 303);
  const title = `Edit ${kind.noun}`;
  if (saved.status !== 412) return recordForm(c, kind, title, here(c), values, saved.problem, saved.status);
  // Someone else saved first: their version is shown, the form keeps what this user typed and now
  // carries the new version, so saving again is a choice made knowing what it replaces.
  const latest = await c.var.api.get<Stored>(path);
  if (!latest.ok) return problemPage(c, latest.status, latest.problem.message);
  const theirs = valuesOf(kind, latest.body);
  return recordForm(c, kind, title, here(c), { ...values, version: String(latest.body.tracking.version) }, undefined, 412, html`
    <div role="alert" class="conflict">
      <h2>Someone else changed this ${kind.noun} while you were editing</h2>
      <p>Their version is below. Your changes are still in the form: save again to replace theirs, or <a href="${back}">leave without saving</a>.</p>
      <dl>${kind.fields.map((f) => html`<dt>${f.label}</dt><dd>${theirs[f.name] ?? "—"}</dd>`)}</dl>
    </div>`);
}

export const recordPages = new Hono<WebContext>()
  // A client's own address for its edit page; every other kind by its API name.
  .get("/clients/:id/edit", (c) => editPage(c, KINDS.clients!, c.req.param("id")))
  .post("/clients/:id/edit", (c) => save(c, KINDS.clients!, c.req.param("id"), `/clients/${encodeURIComponent(c.req.param("id"))}`))
  .get("/edit/:kind/:id", (c) => {
    const kind = KINDS[c.req.param("kind")];
    return kind ? editPage(c, kind, c.req.param("id")) : problemPage(c, 404, `${c.req.param("kind")}: not a kind of record this app edits`);
  })
  .post("/edit/:kind/:id", (c) => {
    const kind = KINDS[c.req.param("kind")];
    return kind ? save(c, kind, c.req.param("id"), backTo(c)) : problemPage(c, 404, `${c.req.param("kind")}: not a kind of record this app edits`);
  });

/** The link to a record's edit page, coming back to `back` (a client's page or a section of it). */
export function editLink(entity: string, id: string, back: string, label: string): Html {
  return html`<a href="/edit/${entity}/${encodeURIComponent(id)}?back=${encodeURIComponent(back)}">${label}</a>`;
}
