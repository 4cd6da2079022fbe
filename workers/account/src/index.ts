// The account Worker: serves one account's users from that account's own D1, R2 and KV.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AccountContext, AccountEnv } from "./env";
import { authenticate, authenticatePlatform } from "./auth/authenticate";
import { catalog, users } from "./entities/catalog";
import { entityRoutes } from "./entities/routes";
import { documentContent, sweepAbandonedUploads } from "./documents/routes";
import { drainUnreadBody, notFound, onError, problem } from "../../shared/http";
import { d1Session, isRejectedBookmark, rejectedBookmark } from "./sessions";
import { passwords, sessions, signIn } from "./auth/sign-in";
import { webApp } from "./web/app";
import { asPage, isPageRequest } from "../../shared/page";

/** JSON bodies are small records; documents have their own limit. */
const MAX_JSON_BYTES = 64 * 1024;
/** A batch carries up to MAX_BATCH records. */
const MAX_BATCH_BYTES = 1024 * 1024;

const app = new Hono<AccountContext>();

app.use("*", drainUnreadBody);

app.get("/healthz", (c) => c.json({ ok: true, service: "account", account: c.env.ACCOUNT_ID }));
app.use("/api/*", d1Session);
app.use("/api/*", authenticate);
app.route("/api/documents", documentContent);
const jsonLimit = (maxSize: number) =>
  bodyLimit({ maxSize, onError: (c) => problem(c, 413, "too_large", `body: at most ${maxSize} bytes`, "body") });
const recordLimit = jsonLimit(MAX_JSON_BYTES);
const batchLimit = jsonLimit(MAX_BATCH_BYTES);
app.use("/api/*", (c, next) => (c.req.path.endsWith("/batch") ? batchLimit : recordLimit)(c, next));
app.route("/api/users", passwords);
for (const def of catalog) app.route(`/api/${def.name}`, entityRoutes(def));
// The platform's own calls (service tokens): the account's users only.
app.use("/platform/*", d1Session, authenticatePlatform, recordLimit);
app.route("/platform/users", entityRoutes(users));
app.route("/platform/sign-in", signIn);
app.route("/platform/sessions", sessions);
// The web app's pages: the same user token (the platform sends a browser's session as one); every
// path the API and the platform's calls do not take.
app.use("*", async (c, next) => {
  const path = c.req.path;
  if (path.startsWith("/api/") || path.startsWith("/platform/") || path === "/healthz") return next();
  return d1Session(c, async () => {
    const refused = await authenticate(c, next);
    if (refused) c.res = refused;
  });
});
app.route("/", webApp((request, env, ctx) => app.fetch(request, env, ctx)));
app.notFound((c) => (isPageRequest(c.req.raw) ? asPage(notFound(c)) : notFound(c)));
app.onError(async (error, c) => {
  const answer = isRejectedBookmark(error) ? rejectedBookmark(c, error) : onError(error, c);
  // A browser is shown a page, never the JSON problem.
  return isPageRequest(c.req.raw) ? asPage(answer) : answer;
});

export default {
  fetch: app.fetch,
  /** Cron (wrangler.jsonc triggers): finish the clean-up of uploads interrupted by a crash. */
  async scheduled(_controller: ScheduledController, env: AccountEnv) {
    await sweepAbandonedUploads(env, 100);
  },
} satisfies ExportedHandler<AccountEnv>;
