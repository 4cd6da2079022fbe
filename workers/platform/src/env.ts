/** Bindings of the shared platform Worker. */
export interface PlatformEnv {
  DB: D1Database;
  /** Released Worker code the platform deploys to each account: account/current.mjs, account/migrations/*.sql. */
  RELEASES: R2Bucket;
  /** Bearer token for the /admin API (a secret in production). */
  ADMIN_TOKEN: string;
  /** Cloudflare's API: https://api.cloudflare.com/client/v4/ in production, the emulator locally. */
  CLOUDFLARE_API_BASE: string;
  CLOUDFLARE_ACCOUNT_ID: string;
  /** API token allowed to manage D1, R2, KV and Workers scripts (a secret). */
  CLOUDFLARE_API_TOKEN: string;
  /** The token-signing public key (JWK): the platform checks tokens with it, account Workers too. */
  AUTH_PUBLIC_KEY: string;
  /** The token-signing private key (JWK, a secret): the platform is the only token issuer. */
  AUTH_PRIVATE_KEY: string;
  /** Countries (ISO codes, comma-separated) whose users may use the service: UK-only users. */
  ALLOWED_COUNTRIES: string;
  /** Tenants' own host names are <slug>.<TENANT_DOMAIN> (e.g. acme.app.example.com; locally acme.localhost). */
  TENANT_DOMAIN: string;
  /** Other host names (comma-separated) that reach the platform itself rather than a tenant, e.g. its IP. */
  PLATFORM_HOSTS: string;
  /** The zone of TENANT_DOMAIN, whose tenant host names provisioning pins to TENANT_REGION. */
  CLOUDFLARE_ZONE_ID: string;
  /** Regional Services region of tenants' host names: gb, so UK users are served from the UK. */
  TENANT_REGION: string;
  /** AES-256 key (base64, a secret) sealing each account's R2 S3 secret access key on its row. */
  CREDENTIALS_KEY: string;
  /** R2's S3 API endpoint for the EU jurisdiction (https://<account>.eu.r2.cloudflarestorage.com). */
  R2_S3_ENDPOINT: string;
}
