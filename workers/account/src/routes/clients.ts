import { Hono } from "hono";
import * as z from "zod/mini";
import type { AccountEnv } from "../env";
import { ClientInput, ClientStatus, type Client } from "../models/client";
import { newTracking } from "../../../shared/tracking";
import { problem, readJson, validationError } from "../../../shared/http";

const ListQuery = z.object({
  status: z.optional(ClientStatus),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 50),
});

export const clients = new Hono<{ Bindings: AccountEnv }>()
  .post("/", async (c) => {
    const input = await readJson(c, ClientInput);
    const client: Client = { ...input, id: crypto.randomUUID(), tracking: newTracking(c.env.ACCOUNT_ID) };
    await c.env.DB.prepare("INSERT INTO clients (id, body) VALUES (?, ?)").bind(client.id, JSON.stringify(client)).run();
    return c.json(client, 201, { location: `/api/clients/${client.id}` });
  })
  .get("/:id", async (c) => {
    const row = await c.env.DB.prepare("SELECT body FROM clients WHERE id = ?").bind(c.req.param("id")).first<{ body: string }>();
    if (!row) return problem(c, 404, "not_found", `id: no client ${c.req.param("id")}`, "id");
    return c.json(JSON.parse(row.body) as Client);
  })
  .get("/", async (c) => {
    const query = ListQuery.safeParse(c.req.query());
    if (!query.success) throw validationError(query.error, "query");
    const { status, limit } = query.data;
    const stmt = status
      ? c.env.DB.prepare("SELECT body FROM clients WHERE status = ? ORDER BY name, id LIMIT ?").bind(status, limit)
      : c.env.DB.prepare("SELECT body FROM clients ORDER BY name, id LIMIT ?").bind(limit);
    const { results } = await stmt.all<{ body: string }>();
    return c.json({ items: results.map((r) => JSON.parse(r.body) as Client) });
  });
