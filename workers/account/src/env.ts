/** The bindings an account Worker is deployed with: its own D1, R2 bucket and KV namespace only. */
export interface AccountEnv {
  DB: D1Database;
  DOCUMENTS: R2Bucket;
  CACHE: KVNamespace;
  ACCOUNT_ID: string;
  /** The platform's token-signing public key (a JWK, ES256): tokens are issued by the platform. */
  AUTH_PUBLIC_KEY: string;
}

/** Who is calling: one of the account's users, or the platform itself (provisioning, bootstrap). */
export type Principal =
  | { kind: "user"; id: string; role: import("./models/user").Role }
  | { kind: "platform"; id: "platform" };

export type AccountContext = { Bindings: AccountEnv; Variables: { principal: Principal } };
