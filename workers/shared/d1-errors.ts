// What a Worker does when D1 fails, by Cloudflare's documented errors: read-only queries are retried
// with backoff on the errors Cloudflare says are safe to retry; the rest of an outage — overload, a
// reset, a full database — is answered as a clear 503 or 507 with Retry-After, never a 500.
// Sources: https://developers.cloudflare.com/d1/observability/debug-d1/ (the error list) and
// https://developers.cloudflare.com/d1/best-practices/retry-queries/ (what to retry).

/** Transient: the query did not run, and running it again is safe for a read. */
const RETRYABLE = [
  "Network connection lost.",
  "D1 DB reset because its code was updated.",
  "Internal error while starting up D1 DB storage caused object to be reset.",
  "Internal error in D1 DB storage caused object to be reset.",
  "Cannot resolve D1 DB due to transient issue on remote node.",
  "Can't read from request stream because client disconnected.",
];

/** The database is overloaded or was reset under load: retrying at once adds to it; callers should back off. */
const OVERLOADED = [
  "D1 DB is overloaded.",
  "D1 DB storage operation exceeded timeout which caused object to be reset.",
  "D1 DB's isolate exceeded its memory limit and was reset.",
  "D1 DB exceeded its CPU time limit and was reset.",
];

const FULL = "Exceeded maximum DB size";

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : "";
}

// Matched by text alone, as Cloudflare's own retry example does: the texts are D1's, whether or not
// a D1_ERROR prefix comes with them.
function isD1(message: string): boolean {
  return message.length > 0;
}

/** A D1 error Cloudflare says a read-only query may simply be run again after. */
export function isRetryableD1Error(error: unknown): boolean {
  const message = messageOf(error);
  return isD1(message) && RETRYABLE.some((text) => message.includes(text));
}

/** A D1 error meaning the database cannot serve now (transient or overloaded): a 503 to the caller. */
export function isUnavailableD1Error(error: unknown): boolean {
  const message = messageOf(error);
  return isD1(message) && (RETRYABLE.some((text) => message.includes(text)) || OVERLOADED.some((text) => message.includes(text)));
}

/** D1 refusing a write because the database reached its size limit: a 507 to the caller. */
export function isFullD1Error(error: unknown): boolean {
  const message = messageOf(error);
  return isD1(message) && message.includes(FULL);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a read-only query, and runs it again (at most twice more, after 25 then 100 ms, each with up
 * to as much jitter) when it fails with a retryable D1 error. Only for reads: a write that failed
 * this way may have been applied.
 */
export async function retryRead<T>(read: () => Promise<T>, wait: (ms: number) => Promise<unknown> = sleep): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 2 || !isRetryableD1Error(error)) throw error;
      const backoff = 25 * 4 ** attempt;
      await wait(backoff + Math.random() * backoff);
    }
  }
}
