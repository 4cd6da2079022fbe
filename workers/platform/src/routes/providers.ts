import { Hono } from "hono";
import * as z from "zod/mini";
import type { PlatformEnv } from "../env";
import { Provider, ProviderInput } from "../models/provider";
import { problem, readJson, validationError } from "../../../shared/http";

const Lookup = z.strictObject({
  category: z.optional(ProviderInput.shape.category),
  region: z.optional(ProviderInput.shape.region),
});

async function find(db: D1Database, id: string): Promise<Provider | null> {
  const row = await db.prepare("SELECT body FROM providers WHERE id = ?").bind(id).first<{ body: string }>();
  return row ? Provider.parse(JSON.parse(row.body)) : null;
}

/** Marketplace lookup by category and region (uses the providers_category_region index). */
export const providerLookup = new Hono<{ Bindings: PlatformEnv }>().get("/", async (c) => {
  const query = Lookup.safeParse(c.req.query());
  if (!query.success) throw validationError(query.error, "query");
  const { category, region } = query.data;
  const conditions = [category && "category = ?", region && "region = ?"].filter(Boolean);
  const params = [category, region].filter((v) => v !== undefined);
  const { results } = await c.env.DB.prepare(
    `SELECT body FROM providers${conditions.length ? ` WHERE ${conditions.join(" AND ")}` : ""} ORDER BY category, region, name LIMIT 200`,
  )
    .bind(...params)
    .all<{ body: string }>();
  return c.json({ items: results.map((r) => Provider.parse(JSON.parse(r.body))) });
});

/** Admin CRUD of marketplace providers (shared registry data, no tenant data). */
export const providerAdmin = new Hono<{ Bindings: PlatformEnv }>()
  .route("/", providerLookup)
  .post("/", async (c) => {
    const input = await readJson(c, ProviderInput);
    const now = new Date().toISOString();
    const provider: Provider = { ...input, id: crypto.randomUUID(), createdAt: now, updatedAt: now };
    await c.env.DB.prepare("INSERT INTO providers (id, body) VALUES (?, ?)").bind(provider.id, JSON.stringify(provider)).run();
    return c.json(provider, 201);
  })
  .get("/:id", async (c) => {
    const provider = await find(c.env.DB, c.req.param("id"));
    return provider ? c.json(provider) : problem(c, 404, "not_found", `id: no provider ${c.req.param("id")}`, "id");
  })
  .put("/:id", async (c) => {
    const existing = await find(c.env.DB, c.req.param("id"));
    if (!existing) return problem(c, 404, "not_found", `id: no provider ${c.req.param("id")}`, "id");
    const input = await readJson(c, ProviderInput);
    const provider: Provider = { ...input, id: existing.id, createdAt: existing.createdAt, updatedAt: new Date().toISOString() };
    await c.env.DB.prepare("UPDATE providers SET body = ? WHERE id = ?").bind(JSON.stringify(provider), provider.id).run();
    return c.json(provider);
  })
  .delete("/:id", async (c) => {
    const { meta } = await c.env.DB.prepare("DELETE FROM providers WHERE id = ?").bind(c.req.param("id")).run();
    return meta.changes ? c.body(null, 204) : problem(c, 404, "not_found", `id: no provider ${c.req.param("id")}`, "id");
  });
