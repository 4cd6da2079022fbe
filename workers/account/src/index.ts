// The account Worker: serves one account's users from that account's own D1, R2 and KV.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AccountContext, AccountEnv } from "./env";
import { authenticate } from "./auth/authenticate";
import { catalog } from "./entities/catalog";
import { entityRoutes } from "./entities/routes";
import { documentContent, sweepAbandonedUploads } from "./documents/routes";
import { notFound, onError, problem } from "../../shared/http";
import { d1Session, isRejectedBookmark, rejectedBookmark } from "./sessions";

/** JSON bodies are small records; documents have their own limit. */
const MAX_JSON_BYTES = 64 * 1024;
/** A batch carries up to MAX_BATCH records. */
const MAX_BATCH_BYTES = 1024 * 1024;

/** Unread request bodies up to this size are read to the end before answering (see below). */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

const app = new Hono<AccountContext>();

// An answer sent before the request body was read (a 401, a 403, a 400 on the query) leaves the
// rest of the body on the connection, which then cannot be reused: the caller's next request on it
// fails ("Network connection lost"). Reading small leftovers keeps callers' connections healthy.
app.use("*", async (c, next) => {
  await next();
  const request = c.req.raw;
  const length = Number(request.headers.get("content-length") ?? "0");
  if (request.body && !request.bodyUsed && length <= DRAIN_LIMIT_BYTES) await request.arrayBuffer().catch(() => undefined);
});

app.get("/healthz", (c) => c.json({ ok: true, service: "account", account: c.env.ACCOUNT_ID }));
app.use("/api/*", d1Session);
app.use("/api/*", authenticate);
app.route("/api/documents", documentContent);
const jsonLimit = (maxSize: number) =>
  bodyLimit({ maxSize, onError: (c) => problem(c, 413, "too_large", `body: at most ${maxSize} bytes`, "body") });
const recordLimit = jsonLimit(MAX_JSON_BYTES);
const batchLimit = jsonLimit(MAX_BATCH_BYTES);
app.use("/api/*", (c, next) => (c.req.path.endsWith("/batch") ? batchLimit : recordLimit)(c, next));
for (const def of catalog) app.route(`/api/${def.name}`, entityRoutes(def));
app.notFound(notFound);
app.onError((error, c) => (isRejectedBookmark(error) ? rejectedBookmark(c, error) : onError(error, c)));

export default {
  fetch: app.fetch,
  /** Cron (wrangler.jsonc triggers): finish the clean-up of uploads interrupted by a crash. */
  async scheduled(_controller: ScheduledController, env: AccountEnv) {
    await sweepAbandonedUploads(env, 100);
  },
} satisfies ExportedHandler<AccountEnv>;
