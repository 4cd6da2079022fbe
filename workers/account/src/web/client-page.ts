// A client's page: details, dependants, cases with their tasks, contacts and documents — and the forms
// that add each (shown only to those the API would let add them). A form the API refuses comes back
// on this page with the API's message next to the field it names, and what was typed kept.
import { Hono } from "hono";
import { html, raw } from "hono/html";
import { caseTasks, cases, clientContacts, clients, contactIndividuals, dependants, documents } from "../entities/catalog";
import { MAX_DOCUMENT_BYTES } from "../documents/routes";
import type { Page, Problem } from "./api";
import { field, formProblem, formValues, today } from "./forms";
import type { Client } from "./clients";
import { appPage, can, problemPage, type Html, type WebContext, type WebCtx } from "./layout";
import { editLink, fieldsOf, KINDS } from "./records";

interface Dependant { id: string; name: string; relationship: string; dateOfBirth?: string }
interface Case { id: string; title: string; status: string; priority: string; openedAt: string }
interface Task { id: string; title: string; status: string; dueDate: string }
interface ContactLink { id: string; contactKind: "company" | "individual"; contactId: string; relationship: string }
interface Contact { id: string; name?: string; firstName?: string; lastName?: string; email?: string }
interface Document { id: string; name: string; contentType: string; size: number }

/** A form of the page that came back refused: which one, why, and what was typed. */
interface Refused { form: string; problem: Problem; values: Record<string, string> }


export const clientPage = new Hono<WebContext>()
  .get("/clients/:id", (c) => render(c, c.req.param("id")))
  .post("/clients/:id/dependants", async (c) => {
    const clientId = c.req.param("id");
    const values = await formValues(c.req);
    const added = await c.var.api.call("POST", "/api/dependants", { json: { clientId, ...values } });
    return added.ok ? back(c, clientId, "dependants") : render(c, clientId, { form: "dependant", problem: added.problem, values }, added.status);
  })
  .post("/clients/:id/cases", async (c) => {
    const clientId = c.req.param("id");
    const values = await formValues(c.req);
    const added = await c.var.api.call("POST", "/api/cases", { json: { clientId, ...values } });
    return added.ok ? back(c, clientId, "cases") : render(c, clientId, { form: "case", problem: added.problem, values }, added.status);
  })
  .post("/clients/:id/cases/:caseId/tasks", async (c) => {
    const clientId = c.req.param("id");
    const caseId = c.req.param("caseId");
    const values = await formValues(c.req);
    const added = await c.var.api.call("POST", "/api/case-tasks", { json: { caseId, ...values } });
    return added.ok ? back(c, clientId, `case-${caseId}`) : render(c, clientId, { form: `task-${caseId}`, problem: added.problem, values }, added.status);
  })
  .post("/clients/:id/contacts", async (c) => {
    const clientId = c.req.param("id");
    const { relationship, ...person } = await formValues(c.req);
    const values = { relationship: relationship ?? "", ...person };
    const contact = await c.var.api.call<Contact>("POST", "/api/contact-individuals", { json: person });
    if (!contact.ok) return render(c, clientId, { form: "contact", problem: contact.problem, values }, contact.status);
    const linked = await c.var.api.call("POST", "/api/client-contacts", { json: { clientId, contactKind: "individual", contactId: contact.body.id, relationship } });
    if (linked.ok) return back(c, clientId, "contacts");
    // Not linked: the contact made for it goes too, so a retry does not leave a stray one behind
    // (a role that may add but not delete contacts is told it stays).
    const removed = await c.var.api.call("DELETE", `/api/contact-individuals/${contact.body.id}`);
    const problem = removed.ok ? linked.problem : { ...linked.problem, message: `${linked.problem.message} (the contact ${person.firstName} ${person.lastName} was made and stays in the contacts)` };
    return render(c, clientId, { form: "contact", problem, values }, linked.status);
  });

function back(c: WebCtx, clientId: string, section: string) {
  return c.redirect(`/clients/${encodeURIComponent(clientId)}#${section}`, 303);
}

async function render(c: WebCtx, id: string, refused?: Refused, status = 200) {
  const api = c.var.api;
  const found = await api.get<Client>(`/api/clients/${encodeURIComponent(id)}`);
  if (!found.ok) return problemPage(c, found.status, found.problem.message);
  const client = found.body;
  const [people, work, links, files] = await Promise.all([
    api.get<Page<Dependant>>(`/api/dependants?clientId=${client.id}&limit=100`),
    api.get<Page<Case>>(`/api/cases?clientId=${client.id}&limit=100`),
    api.get<Page<ContactLink>>(`/api/client-contacts?clientId=${client.id}&limit=100`),
    api.get<Page<Document>>(`/api/documents?clientId=${client.id}&limit=100`),
  ]);
  const caseList = work.ok ? work.body.items : [];
  const tasks = await Promise.all(caseList.map((item) => api.get<Page<Task>>(`/api/case-tasks?caseId=${item.id}&limit=100`)));
  const linkList = links.ok ? links.body.items : [];
  const contacts = await Promise.all(linkList.map((link) => api.get<Contact>(`/api/contact-${link.contactKind === "company" ? "companies" : "individuals"}/${link.contactId}`)));
  const problemOf = (form: string) => (refused?.form === form ? refused.problem : undefined);
  // An add form's fields are those of its kind's edit form (records.ts), with what was typed kept.
  const fields = (kind: string, form: string, names: string[], defaults: Record<string, string> = {}) =>
    fieldsOf(KINDS[kind]!, names).map((spec) => field({ ...spec, form, value: valuesOf(form)[spec.name] ?? defaults[spec.name], problem: problemOf(form) }));
  const edits = (def: Parameters<typeof can>[1]) => can(c, def, "write");
  const here = `/clients/${client.id}`;
  const valuesOf = (form: string): Record<string, string> => (refused?.form === form ? refused.values : {});

  return appPage(c, client.name, html`
    <h1>${client.name}</h1>
    <dl>
      <dt>Status</dt><dd>${client.status}</dd>
      <dt>E-mail</dt><dd>${client.email ?? "—"}</dd>
      <dt>Phone</dt><dd>${client.phone ?? "—"}</dd>
      <dt>Date of birth</dt><dd>${client.dateOfBirth ?? "—"}</dd>
      <dt>Notes</dt><dd>${client.notes ?? "—"}</dd>
    </dl>
    ${can(c, clients, "write") ? html`<p><a href="/clients/${client.id}/edit">Edit client</a></p>` : ""}

    <section id="dependants" aria-labelledby="dependants-title">
      <h2 id="dependants-title">Dependants</h2>
      ${list(people.ok ? people.body.items : [], "No dependants.", (d) => html`${d.name} (${d.relationship}${d.dateOfBirth ? `, born ${d.dateOfBirth}` : ""})${edits(dependants) ? html` ${editLink("dependants", d.id, `${here}#dependants`, `Edit ${d.name}`)}` : ""}`)}
      ${can(c, dependants, "write") ? addForm("dependant", "Add a dependant", `/clients/${client.id}/dependants`, problemOf("dependant"), ["name", "relationship", "dateOfBirth"], html`
        ${fields("dependants", "dependant", ["name", "relationship", "dateOfBirth"])}`) : ""}
    </section>

    <section id="cases" aria-labelledby="cases-title">
      <h2 id="cases-title">Cases</h2>
      ${caseList.length === 0 ? html`<p>No cases.</p>` : caseList.map((item, index) => {
        const taskList = tasks[index]?.ok ? (tasks[index] as { body: Page<Task> }).body.items : [];
        const form = `task-${item.id}`;
        return html`<article id="case-${item.id}" aria-labelledby="case-${item.id}-title">
          <h3 id="case-${item.id}-title">${item.title}</h3>
          <p>${item.status} · ${item.priority} priority · opened ${item.openedAt}${edits(cases) ? html` ${editLink("cases", item.id, `${here}#case-${item.id}`, `Edit case ${item.title}`)}` : ""}</p>
          <h4>Tasks</h4>
          ${list(taskList, "No tasks.", (t) => html`${t.title} — ${t.status}, due ${t.dueDate}${edits(caseTasks) ? html` ${editLink("case-tasks", t.id, `${here}#case-${item.id}`, `Edit task ${t.title}`)}` : ""}`)}
          ${can(c, caseTasks, "write") ? addForm(form, `Add a task to ${item.title}`, `/clients/${client.id}/cases/${item.id}/tasks`, problemOf(form), ["title", "dueDate"], html`
            ${fields("case-tasks", form, ["title", "dueDate"], { dueDate: today() })}`) : ""}
        </article>`;
      })}
      ${can(c, cases, "write") ? addForm("case", "Open a case", `/clients/${client.id}/cases`, problemOf("case"), ["title", "priority", "openedAt", "description"], html`
        ${fields("cases", "case", ["title", "priority", "openedAt", "description"], { openedAt: today() })}`) : ""}
    </section>

    <section id="contacts" aria-labelledby="contacts-title">
      <h2 id="contacts-title">Contacts</h2>
      ${list(linkList.map((link, index) => ({ link, contact: contacts[index]?.ok ? (contacts[index] as { body: Contact }).body : undefined })), "No contacts.",
        ({ link, contact }) => html`${contact ? contact.name ?? `${contact.firstName} ${contact.lastName}` : "(removed)"} — ${link.relationship}${contact?.email ? html`, <a href="mailto:${contact.email}">${contact.email}</a>` : ""}${contact && link.contactKind === "individual" && edits(contactIndividuals) ? html` ${editLink("contact-individuals", contact.id, `${here}#contacts`, `Edit ${contact.firstName} ${contact.lastName}`)}` : ""}`)}
      ${can(c, clientContacts, "write") ? addForm("contact", "Add a contact", `/clients/${client.id}/contacts`, problemOf("contact"), ["firstName", "lastName", "email", "relationship"], html`
        ${fields("contact-individuals", "contact", ["firstName", "lastName", "email"])}
        ${field({ form: "contact", label: "Relationship (e.g. solicitor)", name: "relationship", value: valuesOf("contact").relationship, required: true, maxLength: 100, problem: problemOf("contact") })}`) : ""}
    </section>

    <section id="documents" aria-labelledby="documents-title">
      <h2 id="documents-title">Documents</h2>
      ${list(files.ok ? files.body.items : [], "No documents.", (d) => html`<a href="/api/documents/${d.id}/content" download="${d.name}">${d.name}</a> (${d.contentType}, ${size(d.size)})`)}
      ${can(c, documents, "write") ? uploadForm(client.id) : ""}
    </section>`, status);
}

function list<T>(items: T[], empty: string, line: (item: T) => Html | string): Html {
  return items.length === 0 ? html`<p>${empty}</p>` : html`<ul>${items.map((item) => html`<li>${line(item)}</li>`)}</ul>`;
}

function addForm(id: string, title: string, action: string, problem: Problem | undefined, fields: string[], body: Html): Html {
  return html`<form method="post" action="${action}" aria-labelledby="${id}-form-title">
    <h3 id="${id}-form-title">${title}</h3>
    ${formProblem(problem, fields)}
    ${body}
    <button type="submit">Add</button>
  </form>`;
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Uploads go straight to the API (the bytes stream to R2; a form post would buffer them), with a
 * progress bar; a file over the limit is refused here, before any byte is sent.
 */
function uploadForm(clientId: string): Html {
  return html`<form id="upload" aria-labelledby="upload-title" data-client="${clientId}" data-max="${MAX_DOCUMENT_BYTES}">
    <h3 id="upload-title">Upload a document</h3>
    <label for="upload-file">File</label><input id="upload-file" name="file" type="file" required>
    <label for="upload-name">Name (default: the file's)</label><input id="upload-name" name="name" type="text" maxlength="200">
    <progress id="upload-progress" max="100" value="0" hidden aria-label="Upload progress"></progress>
    <p id="upload-status" role="status"></p>
    <button type="submit">Upload</button>
  </form>
  <script>${raw(UPLOAD_SCRIPT)}</script>`;
}

const UPLOAD_SCRIPT = `
(function () {
  var form = document.getElementById("upload");
  var status = document.getElementById("upload-status");
  var bar = document.getElementById("upload-progress");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("upload-file").files[0];
    var max = Number(form.dataset.max);
    if (!file) { status.textContent = "Choose a file to upload."; return; }
    if (file.size > max) { status.textContent = file.name + " is " + file.size + " bytes; documents are at most " + max + " bytes. Nothing was sent."; return; }
    var name = document.getElementById("upload-name").value.trim() || file.name;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/documents?" + new URLSearchParams({ name: name, clientId: form.dataset.client }));
    xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
    bar.hidden = false;
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = "Uploading: " + bar.value + "%";
    };
    xhr.onload = function () {
      if (xhr.status === 201) { status.textContent = "Uploaded."; location.reload(); return; }
      var message;
      try { message = JSON.parse(xhr.responseText).message; } catch (e) { message = "status " + xhr.status; }
      status.textContent = "The upload failed: " + message;
    };
    xhr.onerror = function () { status.textContent = "The upload failed: the connection was lost."; };
    xhr.send(file);
  });
})();
`;
