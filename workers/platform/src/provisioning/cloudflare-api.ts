import type { PlatformEnv } from "../env";
import type { CustomHostname } from "../domains";

/** An error answer of Cloudflare's v4 API (its envelope's first error). */
export class CloudflareApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** A bound on paging, should an API ever repeat its pages. */
const MAX_PAGES = 1000;

interface Envelope<T> {
  success: boolean;
  errors: { code: number; message: string }[];
  result: T;
}

/** The few Cloudflare v4 API calls provisioning makes, with the documented request and response shapes. */
export class CloudflareApi {
  constructor(private readonly env: PlatformEnv) {}

  private url(path: string) {
    // Zone-level calls (zones/<id>/…) are not under the account.
    const scoped = path.startsWith("zones/") ? path : `accounts/${this.env.CLOUDFLARE_ACCOUNT_ID}/${path}`;
    return new URL(scoped, this.env.CLOUDFLARE_API_BASE);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${this.env.CLOUDFLARE_API_TOKEN}`, ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await fetch(this.url(path), init);
    let envelope: Envelope<T>;
    try {
      envelope = (await response.json()) as Envelope<T>;
    } catch {
      throw new CloudflareApiError(response.status, 0, "the API answered without a JSON envelope");
    }
    if (!response.ok || !envelope.success) {
      const error = envelope.errors?.[0];
      throw new CloudflareApiError(response.status, error?.code ?? 0, error?.message ?? "unknown error");
    }
    return envelope.result;
  }

  /**
   * Every item of a paged list: page after page until a short one, as Cloudflare pages its lists
   * (a first page alone misses what lies beyond it once an account has many resources).
   */
  private async listAll<T>(path: string, perPage: number): Promise<T[]> {
    const all: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const items = await this.call<T[]>("GET", `${path}?page=${page}&per_page=${perPage}`);
      all.push(...items);
      if (items.length < perPage) break;
    }
    return all;
  }

  listD1() {
    return this.listAll<{ uuid: string; name: string; jurisdiction?: string }>("d1/database", 1000);
  }

  createD1(name: string) {
    return this.call<{ uuid: string; name: string }>("POST", "d1/database", { name, jurisdiction: "eu" });
  }

  deleteD1(id: string) {
    return this.call<null>("DELETE", `d1/database/${id}`);
  }

  queryD1(id: string, sql: string, params: unknown[] = []) {
    return this.call<{ results: Record<string, unknown>[] }[]>("POST", `d1/database/${id}/query`, { sql, params });
  }

  listBuckets() {
    return this.call<{ buckets: { name: string; jurisdiction?: string }[] }>("GET", "r2/buckets");
  }

  createBucket(name: string) {
    return this.call<{ name: string }>("POST", "r2/buckets", { name }, { "cf-r2-jurisdiction": "eu" });
  }

  deleteBucket(name: string) {
    return this.call<null>("DELETE", `r2/buckets/${name}`, undefined, { "cf-r2-jurisdiction": "eu" });
  }

  listNamespaces() {
    return this.listAll<{ id: string; title: string }>("storage/kv/namespaces", 100);
  }

  createNamespace(title: string) {
    return this.call<{ id: string; title: string }>("POST", "storage/kv/namespaces", { title });
  }

  deleteNamespace(id: string) {
    return this.call<null>("DELETE", `storage/kv/namespaces/${id}`);
  }

  uploadScript(name: string, code: string, metadata: Record<string, unknown>) {
    const form = new FormData();
    form.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }), "metadata.json");
    form.append("index.mjs", new Blob([code], { type: "application/javascript+module" }), "index.mjs");
    return this.call<{ id: string }>("PUT", `workers/scripts/${name}`, form);
  }

  deleteScript(name: string) {
    return this.call<null>("DELETE", `workers/scripts/${name}`);
  }

  /**
   * An account API token that may read and write one EU bucket's objects. Its id is the S3 access key
   * id and SHA-256(value) the secret access key (Cloudflare's derivation for R2's S3 API).
   */
  createBucketToken(name: string, bucket: string) {
    return this.call<{ id: string; value: string }>("POST", "tokens", {
      name,
      policies: [
        {
          effect: "allow",
          resources: { [`com.cloudflare.edge.r2.bucket.${this.env.CLOUDFLARE_ACCOUNT_ID}_eu_${bucket}`]: "*" },
          permission_groups: [{ id: "2efd5506f9c8494dacb1fa10a3e7d5b6", name: "Workers R2 Storage Bucket Item Write" }],
        },
      ],
    });
  }

  deleteToken(id: string) {
    return this.call<{ id: string }>("DELETE", `tokens/${id}`);
  }

  /** Regional Services: the tenant's host name is decrypted and processed only in `region` (e.g. gb). */
  createRegionalHostname(hostname: string, region: string) {
    return this.call<{ hostname: string }>("POST", `zones/${this.env.CLOUDFLARE_ZONE_ID}/addressing/regional_hostnames`, { hostname, region_key: region });
  }

  deleteRegionalHostname(hostname: string) {
    return this.call<null>("DELETE", `zones/${this.env.CLOUDFLARE_ZONE_ID}/addressing/regional_hostnames/${hostname}`);
  }

  /** Cloudflare for SaaS: a tenant's own domain on the zone, its certificate validated by TXT record. */
  createCustomHostname(hostname: string, accountId: string) {
    return this.call<CustomHostname>("POST", `zones/${this.env.CLOUDFLARE_ZONE_ID}/custom_hostnames`, {
      hostname,
      ssl: { method: "txt", type: "dv", settings: { min_tls_version: "1.2" } },
      custom_metadata: { account: accountId },
    });
  }

  /** The custom hostname, or null when the zone no longer has it. */
  async customHostname(id: string): Promise<CustomHostname | null> {
    try {
      return await this.call<CustomHostname>("GET", `zones/${this.env.CLOUDFLARE_ZONE_ID}/custom_hostnames/${id}`);
    } catch (error) {
      if (error instanceof CloudflareApiError && error.status === 404) return null;
      throw error;
    }
  }

  deleteCustomHostname(id: string) {
    return this.call<{ id: string }>("DELETE", `zones/${this.env.CLOUDFLARE_ZONE_ID}/custom_hostnames/${id}`);
  }

  workersSubdomain() {
    return this.call<{ subdomain: string }>("GET", "workers/subdomain");
  }
}
