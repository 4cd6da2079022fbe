// The account Worker: serves one account's users from that account's own D1, R2 and KV.
import { Hono } from "hono";
import type { AccountEnv } from "./env";
import { clients } from "./routes/clients";
import { notFound, onError } from "../../shared/http";

const app = new Hono<{ Bindings: AccountEnv }>();

app.get("/healthz", (c) => c.json({ ok: true, service: "account", account: c.env.ACCOUNT_ID }));
app.route("/api/clients", clients);
app.notFound(notFound);
app.onError(onError);

export default app;
