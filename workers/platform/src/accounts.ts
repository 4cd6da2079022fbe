import { Account } from "./models/account";

export async function findAccountBySlug(db: D1Database, slug: string): Promise<Account | null> {
  const row = await db.prepare("SELECT body FROM accounts WHERE slug = ?").bind(slug).first<{ body: string }>();
  return row ? Account.parse(JSON.parse(row.body)) : null;
}

export async function saveAccount(db: D1Database, account: Account): Promise<void> {
  account.updatedAt = new Date().toISOString();
  await db.prepare("INSERT INTO accounts (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = ?2")
    .bind(account.id, JSON.stringify(account))
    .run();
}
