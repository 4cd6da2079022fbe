// What a Worker does when R2 or KV fails, by Cloudflare's documented errors: R2's service errors
// (https://developers.cloudflare.com/r2/api/error-codes/) end the binding's message with their code;
// they are answered as a 503 (the service is failing) or a 429 (too many writes to one key), with
// Retry-After, never a 500. KV's rate limit on writes (https://developers.cloudflare.com/kv/platform/limits/)
// matters only where KV is written, which here is a cache: see principals.ts.

/** R2's codes for a failure of the service itself, and what the caller is told. */
const R2_SERVICE_ERRORS: Record<number, { status: 503 | 429; error: string }> = {
  10001: { status: 503, error: "storage_unavailable" }, // InternalError
  10043: { status: 503, error: "storage_unavailable" }, // ServiceUnavailable
  10058: { status: 429, error: "too_many_requests" }, // TooManyRequests: one write per second per key
};

/** The answer for an R2 binding error that is the service failing (not the request), or null. */
export function r2ServiceError(error: unknown): { status: 503 | 429; error: string; code: number } | null {
  const message = error instanceof Error ? error.message : "";
  const code = Number(/\((\d{5})\)$/.exec(message)?.[1]);
  const known = R2_SERVICE_ERRORS[code];
  return known ? { ...known, code } : null;
}
