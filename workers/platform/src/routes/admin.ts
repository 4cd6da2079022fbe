import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { PlatformEnv } from "../env";
import { Account, AccountInput, Slug } from "../models/account";
import { problem, readJson } from "../../../shared/http";
import { findAccountBySlug } from "../accounts";

export const admin = new Hono<{ Bindings: PlatformEnv }>()
  .use("*", bearerAuth({ verifyToken: (token, c) => timingSafeEqual(token, (c.env as PlatformEnv).ADMIN_TOKEN) }))
  .put("/accounts/:slug", async (c) => {
    const slug = Slug.safeParse(c.req.param("slug"));
    if (!slug.success) return problem(c, 400, "validation_failed", `slug: ${slug.error.issues[0]?.message}`, "slug");
    const input = await readJson(c, AccountInput);
    const now = new Date().toISOString();
    const existing = await findAccountBySlug(c.env.DB, slug.data);
    const account: Account = {
      ...input,
      id: existing?.id ?? crypto.randomUUID(),
      slug: slug.data,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await c.env.DB.prepare("INSERT INTO accounts (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = ?2")
      .bind(account.id, JSON.stringify(account))
      .run();
    return c.json(account, existing ? 200 : 201);
  })
  .get("/accounts/:slug", async (c) => {
    const account = await findAccountBySlug(c.env.DB, c.req.param("slug"));
    return account ? c.json(account) : problem(c, 404, "not_found", `slug: no account ${c.req.param("slug")}`, "slug");
  })
  .get("/accounts", async (c) => {
    const { results } = await c.env.DB.prepare("SELECT body FROM accounts ORDER BY slug").all<{ body: string }>();
    return c.json({ items: results.map((r) => Account.parse(JSON.parse(r.body))) });
  });
