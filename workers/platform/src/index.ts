// The shared platform Worker: account registry, marketplace providers, provisioning, and routing
// of each tenant's requests to that tenant's own Worker.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { PlatformEnv } from "./env";
import { admin } from "./routes/admin";
import { routeByDomain, routeHost, routeTo } from "./routes/router";
import { classifyHost } from "./routes/hosts";
import { providerLookup } from "./routes/providers";
import { ownDomains } from "./routes/domains";
import { adminConsole } from "./routes/console";
import { drainUnreadBody, notFound, onError, problem } from "../../shared/http";
import { asPage, isPageRequest } from "../../shared/page";

const app = new Hono<{ Bindings: PlatformEnv }>();
// A request refused before it is forwarded (401, 403, 451) must not leave its body on the connection.
app.use("*", drainUnreadBody);

// By host: acme.<TENANT_DOMAIN>/anything → acme's Worker /anything. A host that is neither the
// platform's nor a tenant's is refused here, never routed by the caller's token.
app.use("*", async (c, next) => {
  const url = new URL(c.req.url);
  const target = classifyHost(c.env, url.host);
  // Tenant hosts are where browsers come: what they are answered with a JSON problem, they see as a page.
  const forBrowser = (response: Response) => (isPageRequest(c.req.raw) ? asPage(response) : response);
  if (target.kind === "tenant") return forBrowser(await routeHost(c, target.slug, url.pathname));
  if (target.kind === "unknown") {
    // A tenant's own domain (Cloudflare for SaaS), or no tenant's at all.
    return forBrowser((await routeByDomain(c, target.host, url.pathname)) ?? problem(c, 404, "unknown_host", `host: ${target.host} names no tenant of this platform`, "host"));
  }
  return next();
});
/** Admin and domain requests are small JSON. */
const smallJson = bodyLimit({ maxSize: 64 * 1024, onError: (c) => problem(c, 413, "too_large", "body: at most 65536 bytes", "body") });

app.get("/healthz", (c) => c.json({ ok: true, service: "platform" }));
// The admin page: the admin API's pages, for a person with the admin token.
app.use("/console/*", smallJson);
app.route("/console", adminConsole((request, env) => app.fetch(request, env)));
app.use("/admin/*", smallJson);
app.route("/admin", admin);
// A tenant's own domains, managed by its admins with their token (the platform admin: /admin/…).
app.use("/domains", smallJson);
app.use("/domains/*", smallJson);
app.route("/domains", ownDomains);
// Marketplace: public lookup of providers by category and region.
app.route("/providers", providerLookup);
// By path: /accounts/acme/api/… → acme's Worker /api/… (the token must be for acme too).
app.all("/accounts/:slug/*", (c) => {
  const slug = c.req.param("slug");
  return routeTo(c, slug, new URL(c.req.url).pathname.slice(`/accounts/${slug}`.length) || "/");
});
// By token: /api/… → the Worker of the account the token is for.
app.all("/api/*", (c) => routeTo(c, undefined, new URL(c.req.url).pathname));
app.notFound(notFound);
app.onError(onError);

export default app;
