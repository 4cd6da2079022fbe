// The firm's users and groups, for its owner and admins: add a user (with a first password), change a
// user's role or disable them, make groups and add members. Everyone else is refused by the API.
import { Hono } from "hono";
import { html } from "hono/html";
import { groups, users } from "../entities/catalog";
import { Role } from "../models/user";
import { Password } from "../auth/credentials";
import type { Page, Problem } from "./api";
import { field, formProblem, formValues } from "./forms";
import { appPage, can, problemPage, type WebContext, type WebCtx } from "./layout";

interface User { id: string; name: string; email: string; role: string; status: string; tracking: { version: number } }
interface Group { id: string; name: string; description?: string }
interface Member { id: string; groupId: string; userId: string }

interface Refused { form: string; problem: Problem; values: Record<string, string> }

export const userPages = new Hono<WebContext>()
  .get("/users", (c) => render(c))
  .post("/users", async (c) => {
    const { password, ...values } = await formValues(c.req);
    // The password is checked first, by the rule the API applies, so no user is made without one.
    const strong = Password.safeParse(password ?? "");
    if (!strong.success) {
      return render(c, { form: "user", problem: { error: "validation_failed", field: "password", message: `password: ${strong.error.issues[0]?.message ?? "invalid"}` }, values }, 400);
    }
    const created = await c.var.api.call<User>("POST", "/api/users", { json: values });
    if (!created.ok) return render(c, { form: "user", problem: created.problem, values }, created.status);
    const set = await c.var.api.call("PUT", `/api/users/${created.body.id}/password`, { json: { password: password ?? "" } });
    if (!set.ok) return render(c, { form: "user", problem: { ...set.problem, message: `${created.body.email} was added without a password: ${set.problem.message}` }, values }, set.status);
    return c.redirect("/users", 303);
  })
  .post("/users/:id", async (c) => {
    const { version, ...values } = await formValues(c.req);
    const saved = await c.var.api.call("PATCH", `/api/users/${encodeURIComponent(c.req.param("id"))}`, { json: values, version: Number(version) });
    if (!saved.ok) return render(c, { form: `user-${c.req.param("id")}`, problem: saved.problem, values }, saved.status);
    return c.redirect("/users", 303);
  })
  .post("/groups", async (c) => {
    const values = await formValues(c.req);
    const created = await c.var.api.call("POST", "/api/groups", { json: values });
    if (!created.ok) return render(c, { form: "group", problem: created.problem, values }, created.status);
    return c.redirect("/users#groups", 303);
  })
  .post("/groups/:id/members", async (c) => {
    const values = await formValues(c.req);
    const added = await c.var.api.call("POST", "/api/group-members", { json: { groupId: c.req.param("id"), userId: values.userId } });
    if (!added.ok) return render(c, { form: `group-${c.req.param("id")}`, problem: added.problem, values }, added.status);
    return c.redirect("/users#groups", 303);
  });

async function render(c: WebCtx, refused?: Refused, status = 200) {
  if (!can(c, users, "write")) return problemPage(c, 403, "Only the firm's owner and admins manage users and groups.");
  const api = c.var.api;
  const [people, teams, members] = await Promise.all([
    api.get<Page<User>>("/api/users?limit=100"),
    api.get<Page<Group>>("/api/groups?limit=100"),
    api.get<Page<Member>>("/api/group-members?limit=100"),
  ]);
  if (!people.ok) return problemPage(c, people.status, people.problem.message);
  const userList = people.body.items;
  const nameOf = new Map(userList.map((u) => [u.id, u.name]));
  const problemOf = (form: string) => (refused?.form === form ? refused.problem : undefined);
  const valuesOf = (form: string): Record<string, string> => (refused?.form === form ? refused.values : {});
  return appPage(c, "Users and groups", html`
    <h1>Users and groups</h1>
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <table><caption>Users</caption><thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Role and status</th></tr></thead>
      <tbody>${userList.map((u) => {
        const form = `user-${u.id}`;
        return html`<tr><td>${u.name}</td><td>${u.email}</td><td>
          <form method="post" action="/users/${u.id}" aria-label="Role and status of ${u.name}">
            <input type="hidden" name="version" value="${u.tracking.version}">
            ${formProblem(problemOf(form), ["role", "status"])}
            ${field({ form, label: "Role", name: "role", value: valuesOf(form).role ?? u.role, options: Role.options, problem: problemOf(form) })}
            ${field({ form, label: "Status", name: "status", value: valuesOf(form).status ?? u.status, options: ["active", "disabled"], problem: problemOf(form) })}
            <button type="submit">Save</button>
          </form></td></tr>`;
      })}</tbody></table>
      <form method="post" action="/users" aria-labelledby="user-form-title">
        <h3 id="user-form-title">Add a user</h3>
        ${formProblem(problemOf("user"), ["name", "email", "role", "password"])}
        ${field({ form: "user", label: "Name", name: "name", value: valuesOf("user").name, required: true, maxLength: 200, problem: problemOf("user") })}
        ${field({ form: "user", label: "E-mail", name: "email", type: "email", value: valuesOf("user").email, required: true, maxLength: 320, problem: problemOf("user") })}
        ${field({ form: "user", label: "Role", name: "role", value: valuesOf("user").role ?? "staff", options: Role.options.filter((r) => r !== "owner"), problem: problemOf("user") })}
        ${field({ form: "user", label: "First password (12 characters or more)", name: "password", type: "password", required: true, minLength: 12, problem: problemOf("user") })}
        <button type="submit">Add user</button>
      </form>
    </section>
    <section id="groups" aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      ${(teams.ok ? teams.body.items : []).map((g) => {
        const form = `group-${g.id}`;
        const inGroup = (members.ok ? members.body.items : []).filter((m) => m.groupId === g.id);
        return html`<article aria-labelledby="${form}-title">
          <h3 id="${form}-title">${g.name}</h3>
          <p>${inGroup.length === 0 ? "No members." : inGroup.map((m) => nameOf.get(m.userId) ?? m.userId).join(", ")}</p>
          <form method="post" action="/groups/${g.id}/members" aria-label="Add a member to ${g.name}">
            ${formProblem(problemOf(form), [])}
            <label for="${form}-userId">Member</label>
            <select id="${form}-userId" name="userId">${userList.map((u) => html`<option value="${u.id}">${u.name}</option>`)}</select>
            <button type="submit">Add member</button>
          </form>
        </article>`;
      })}
      <form method="post" action="/groups" aria-labelledby="group-form-title">
        <h3 id="group-form-title">Make a group</h3>
        ${formProblem(problemOf("group"), ["name", "description"])}
        ${field({ form: "group", label: "Name", name: "name", value: valuesOf("group").name, required: true, maxLength: 200, problem: problemOf("group") })}
        ${field({ form: "group", label: "Description", name: "description", type: "textarea", value: valuesOf("group").description, maxLength: 10000, problem: problemOf("group") })}
        <button type="submit">Make group</button>
      </form>
    </section>`, status);
}
