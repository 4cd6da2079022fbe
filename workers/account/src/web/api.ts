// The account API called in-process by the web pages, with the signed-in user's own token: pages and
// scripts go through one set of rules (validation, permissions, versions, audit), and a page shows
// the API's own 4xx messages next to the field they name.
import type { Context, Hono } from "hono";
import type { AccountEnv } from "../env";
import type { WebContext } from "./layout";
import { BOOKMARK_HEADER, laterBookmark, requestBookmark } from "../sessions";

export type ApiFetch = (request: Request, env: AccountEnv, ctx: Parameters<Hono["fetch"]>[2]) => Response | Promise<Response>;

export type { Problem } from "../../../shared/http";
import type { Problem } from "../../../shared/http";

export type Answer<T> = { ok: true; status: number; body: T; version?: number } | { ok: false; status: number; problem: Problem };

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export class Api {
  #bookmark: string | undefined;

  constructor(
    private readonly c: Context<WebContext>,
    private readonly fetchApi: ApiFetch,
  ) {
    this.#bookmark = requestBookmark(c);
  }

  /** The latest bookmark of this page's calls: the page answers with it, so the next page reads them. */
  get bookmark() {
    return this.#bookmark;
  }

  /** `path` is the API's (/api/…); `version` becomes If-Match. */
  async call<T>(method: string, path: string, options: { json?: unknown; version?: number } = {}): Promise<Answer<T>> {
    const headers = new Headers({ authorization: this.c.req.header("authorization") ?? "", accept: "application/json" });
    if (this.#bookmark) headers.set(BOOKMARK_HEADER, this.#bookmark);
    if (options.json !== undefined) headers.set("content-type", "application/json");
    if (options.version !== undefined) headers.set("if-match", `"${options.version}"`);
    const request = new Request(new URL(path, this.c.req.url), {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
    });
    const response = await this.fetchApi(request, this.c.env, this.c.executionCtx);
    this.#bookmark = laterBookmark(this.#bookmark, response.headers.get(BOOKMARK_HEADER));
    const body = response.status === 204 ? undefined : await response.json();
    if (!response.ok) return { ok: false, status: response.status, problem: body as Problem };
    const etag = response.headers.get("etag")?.match(/"(\d+)"/)?.[1];
    return { ok: true, status: response.status, body: body as T, version: etag === undefined ? undefined : Number(etag) };
  }

  get<T>(path: string) {
    return this.call<T>("GET", path);
  }
}
