// The shared platform Worker: account registry, marketplace providers, and routing to account Workers.
import { Hono } from "hono";
import type { PlatformEnv } from "./env";
import { admin } from "./routes/admin";
import { router } from "./routes/router";
import { notFound, onError } from "../../shared/http";

const app = new Hono<{ Bindings: PlatformEnv }>();

app.get("/healthz", (c) => c.json({ ok: true, service: "platform" }));
app.route("/admin", admin);
app.route("/accounts", router);
app.notFound(notFound);
app.onError(onError);

export default app;
