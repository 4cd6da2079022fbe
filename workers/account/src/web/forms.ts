// Form fields with their labels and errors, and forms read back as API input. The browser checks
// what the attributes say (required, type, maxlength); the API checks everything again and its 400
// names the field, which is shown next to that field.
import { html } from "hono/html";
import type { Problem } from "./api";
export { formValues } from "../../../shared/http";
import type { Html } from "./layout";

export interface FieldSpec {
  label: string;
  name: string;
  value?: string;
  type?: "text" | "email" | "date" | "tel" | "password" | "textarea" | "file";
  required?: boolean;
  maxLength?: number;
  minLength?: number;
  options?: readonly string[];
  /** A form's fields share a page with others: `form` makes their ids unique (e.g. "case-3"). */
  form?: string;
  problem?: Problem;
}

/** One labelled field; the problem's message below it when it names this field. */
export function field(spec: FieldSpec): Html {
  const id = spec.form ? `${spec.form}-${spec.name}` : spec.name;
  const error = spec.problem && fieldOf(spec.problem) === spec.name ? spec.problem.message : undefined;
  const invalid = error ? html` aria-invalid="true" aria-describedby="${id}-error"` : "";
  const required = spec.required ? html` required` : "";
  const max = html`${spec.maxLength ? html` maxlength="${spec.maxLength}"` : ""}${spec.minLength ? html` minlength="${spec.minLength}"` : ""}`;
  const control = spec.options
    ? html`<select id="${id}" name="${spec.name}"${invalid}${required}>${spec.options.map((o) => html`<option value="${o}" ${o === spec.value ? "selected" : ""}>${o}</option>`)}</select>`
    : spec.type === "textarea"
      ? html`<textarea id="${id}" name="${spec.name}"${invalid}${max} rows="4">${spec.value ?? ""}</textarea>`
      : html`<input id="${id}" name="${spec.name}" type="${spec.type ?? "text"}" value="${spec.value ?? ""}"${invalid}${required}${max}>`;
  return html`<label for="${id}">${spec.label}</label>${control}${error ? html`<p class="error" id="${id}-error">${error}</p>` : ""}`;
}

/** The form field a problem is about ("body.name" → "name"; "items.0.name" → "name"). */
export function fieldOf(problem: Problem): string | undefined {
  return problem.field?.split(".").at(-1);
}

/** A problem no field of the form shows (a 409, a 403): said at the top of the form. */
export function formProblem(problem: Problem | undefined, fields: string[]): Html | string {
  if (!problem) return "";
  const name = fieldOf(problem);
  return name && fields.includes(name) ? "" : html`<p class="error" role="alert">${problem.message}</p>`;
}

/** Today's date as the API's dates are written (YYYY-MM-DD). */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
