/** The bindings an account Worker is deployed with: its own D1, R2 bucket and KV namespace only. */
export interface AccountEnv {
  DB: D1Database;
  DOCUMENTS: R2Bucket;
  CACHE: KVNamespace;
  ACCOUNT_ID: string;
  /** The platform's token-signing public key (a JWK, ES256): tokens are issued by the platform. */
  AUTH_PUBLIC_KEY: string;
}

/** Who is calling: one of the account's users (/api), or the platform itself (/platform: users only). */
export type Principal =
  | { kind: "user"; id: string; role: import("./models/user").Role }
  | { kind: "platform"; id: "platform" };

/** What request handlers query: the request's D1 session (see sessions.ts), or the database itself. */
export type Database = D1Database | D1DatabaseSession;

export type AccountContext = { Bindings: AccountEnv; Variables: { principal: Principal; db: D1DatabaseSession } };
