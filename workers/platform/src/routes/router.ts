import { Hono } from "hono";
import type { PlatformEnv } from "../env";
import { findAccountBySlug } from "../accounts";
import { problem } from "../../../shared/http";

/**
 * Routes /accounts/:slug/<rest> to <rest> on that account's own Worker, found through the routing
 * metadata on the account's row. Nothing else about the request changes.
 */
export const router = new Hono<{ Bindings: PlatformEnv }>().all("/:slug/*", async (c) => {
  const slug = c.req.param("slug");
  const account = await findAccountBySlug(c.env.DB, slug);
  if (!account) return problem(c, 404, "unknown_account", `account: no account ${slug}`, "account");
  if (account.status !== "active" || !account.routing) return problem(c, 503, "account_unavailable", `account: ${slug} is ${account.status}`, "account");

  const incoming = new URL(c.req.url);
  const rest = incoming.pathname.slice(`/accounts/${slug}`.length) || "/";
  const target = new URL(rest + incoming.search, account.routing.workerUrl);
  const forwarded = new Request(target, c.req.raw);
  // Workers see a normalised Accept-Encoding; the caller's own is request.cf.clientAcceptEncoding.
  // Ask the account Worker only for encodings the caller accepts, or a compressed body would be
  // passed on with a Content-Encoding the caller never asked for.
  const clientEncoding = (c.req.raw.cf as IncomingRequestCfProperties | undefined)?.clientAcceptEncoding;
  forwarded.headers.set("accept-encoding", clientEncoding || "identity");
  // A reused connection can fail once after the account Worker answered early without reading a
  // request body; a read has no body and no side effect, so it is safe to try once more.
  const attempts = forwarded.method === "GET" || forwarded.method === "HEAD" ? 2 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(attempt === 1 ? forwarded : new Request(forwarded.url, { method: forwarded.method, headers: forwarded.headers }));
    } catch (error) {
      if (attempt < attempts) continue;
      console.error(`account ${slug} unreachable: ${(error as Error).message}`);
      return problem(c, 502, "account_unreachable", `account: ${slug} did not answer`, "account");
    }
  }
});
