/** The bindings an account Worker is deployed with: its own D1, R2 bucket and KV namespace only. */
export interface AccountEnv {
  DB: D1Database;
  DOCUMENTS: R2Bucket;
  CACHE: KVNamespace;
  ACCOUNT_ID: string;
}
