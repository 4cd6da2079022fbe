import { Account } from "./models/account";

export async function findAccountBySlug(db: D1Database, slug: string): Promise<Account | null> {
  const row = await db.prepare("SELECT body FROM accounts WHERE slug = ?").bind(slug).first<{ body: string }>();
  return row ? Account.parse(JSON.parse(row.body)) : null;
}
