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
  input, select { display: block; width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem; border: 1px solid #555; border-radius: 4px; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; font-size: 1rem; background: #0b57d0; color: #fff; border: 0; border-radius: 4px; }
  button:focus, input:focus, select:focus, a:focus { outline: 3px solid #f9a825; outline-offset: 2px; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { text-align: left; padding: .4rem; border-bottom: 1px solid #ccc; }
  .error { color: #a50e0e; font-weight: 600; }
</style>
</head>
<body>${body}</body>
</html>`;
}
