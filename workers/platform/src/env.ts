/** Bindings of the shared platform Worker. */
export interface PlatformEnv {
  DB: D1Database;
  /** Bearer token for the /admin API (a secret in production). */
  ADMIN_TOKEN: string;
}
