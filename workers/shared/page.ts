// The web pages' frame, shared by the platform's (sign-in) and the account Worker's (the advisers'
// app): server-rendered HTML, one small stylesheet, readable on a phone and by a screen reader.
import { html } from "hono/html";

/** A whole page: its title and its body's content (escaped by hono/html where it is interpolated). */
export function page(title: string, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 1rem; color: #1b1b1b; background: #fff; }
  main { max-width: 48rem; margin: 2rem auto; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input, select, textarea { display: block; width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem; border: 1px solid #555; border-radius: 4px; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; font-size: 1rem; background: #0b57d0; color: #fff; border: 0; border-radius: 4px; }
  button:focus, input:focus, select:focus, a:focus { outline: 3px solid #f9a825; outline-offset: 2px; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: left; padding: .4rem; border-bottom: 1px solid #ccc; }
  .error { color: #a50e0e; font-weight: 600; }
  td, dd { overflow-wrap: anywhere; }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; }
  header form button { margin-top: 0; }
  section, article { margin-top: 2rem; }
  /* A phone: each table row becomes a block of its cells, so nothing scrolls sideways. */
  @media (max-width: 40rem) {
    table, thead, tbody, tr, th, td { display: block; }
    thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    tr { border-bottom: 1px solid #ccc; padding: .4rem 0; }
    td { border: 0; padding: .2rem 0; }
  }
</style>
</head>
<body>${body}</body>
</html>`;
}

/** What a browser is shown for an error: a page saying what happened and where to go, never JSON. */
export function errorPage(status: number, message: string) {
  const title = errorTitle(status);
  return page(title, html`<main>
    <h1>${title}</h1>
    <p>${message}</p>
    <p><a href="/">Back to the start</a></p>
  </main>`);
}

/** An error page's heading for a status. */
export function errorTitle(status: number): string {
  return ERROR_TITLES[status] ?? (status >= 500 ? "Something went wrong" : "This did not work");
}

const ERROR_TITLES: Record<number, string> = {
  400: "Please check what you sent",
  401: "Please sign in",
  403: "You may not do this",
  404: "Not found",
  409: "This clashes with another record",
  412: "Someone else changed this",
  413: "Too large",
  429: "Too many requests",
  451: "Not available in your country",
  502: "The firm's service did not answer",
  503: "Temporarily unavailable",
};

/** Whether a request comes from a browser that wants pages (a link, a form), not a script wanting data. */
export function isPageRequest(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes("text/html");
}

/**
 * An answer for a browser: a JSON problem (the API's 4xx/5xx) becomes an error page with its message,
 * the status kept; any other answer passes as it is.
 */
export async function asPage(response: Response): Promise<Response> {
  if (response.status < 400 || !(response.headers.get("content-type") ?? "").includes("application/json")) return response;
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  const headers = new Headers(response.headers);
  headers.set("content-type", "text/html; charset=utf-8");
  headers.delete("content-length");
  return new Response(String(await errorPage(response.status, body.message ?? `The request failed (${response.status}).`)), { status: response.status, headers });
}
