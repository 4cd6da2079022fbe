namespace Cloudflare.Emulation.Chaos;

/// <summary>One failure Cloudflare documents, as the Worker's code sees it.</summary>
/// <param name="Name">What a fault rule calls it.</param>
/// <param name="Service">The binding that raises it.</param>
/// <param name="Message">The error's text, exactly as production's binding gives it (after D1's "D1_ERROR: " prefix).</param>
/// <param name="Retryable">Whether Cloudflare says to retry it (read-only queries) or to reduce load instead.</param>
/// <param name="Source">The Cloudflare page that documents it.</param>
/// <param name="Status">For a failure answered over HTTP (the v4 API, R2's S3 API, a failed Worker at the edge): its status.</param>
/// <param name="Code">Cloudflare's code for it: in the API's error envelope, at the end of R2's message, in the edge's "error code: N".</param>
/// <param name="S3Code">For an R2 error: the code R2's S3 API answers it with.</param>
/// <param name="Operations">The operations that can raise it (KV's rate limit is for writes); null for any.</param>
public sealed record FaultError(string Name, string Service, string Message, bool Retryable, string Source,
    int? Status = null, int? Code = null, string? S3Code = null, string[]? Operations = null);

/// <summary>
/// The errors fault rules may raise, each with the page that documents it: the one list of them (the
/// runtime host's fault-rules.mjs throws whatever text a rule carries, in each binding's way).
/// </summary>
public static class FaultCatalogue
{
    private const string DebugD1 = "https://developers.cloudflare.com/d1/observability/debug-d1/";
    private const string D1Limits = "https://developers.cloudflare.com/d1/platform/limits/";
    private const string R2Errors = "https://developers.cloudflare.com/r2/api/error-codes/";
    private const string KvLimits = "https://developers.cloudflare.com/kv/platform/limits/";
    private const string WorkerErrors = "https://developers.cloudflare.com/workers/observability/errors/";
    private const string WorkerLimits = "https://developers.cloudflare.com/workers/platform/limits/";

    public static readonly IReadOnlyList<FaultError> Errors =
    [
        new("d1-network-connection-lost", "d1", "Network connection lost.", true, DebugD1),
        new("d1-reset-code-updated", "d1", "D1 DB reset because its code was updated.", true, DebugD1),
        new("d1-reset-starting-up", "d1", "Internal error while starting up D1 DB storage caused object to be reset.", true, DebugD1),
        new("d1-reset-internal", "d1", "Internal error in D1 DB storage caused object to be reset.", true, DebugD1),
        new("d1-transient-remote-node", "d1", "Cannot resolve D1 DB due to transient issue on remote node.", true, DebugD1),
        new("d1-client-disconnected", "d1", "Can't read from request stream because client disconnected.", true, DebugD1),
        new("d1-overloaded-queued-too-long", "d1", "D1 DB is overloaded. Requests queued for too long.", false, DebugD1),
        new("d1-overloaded-too-many-queued", "d1", "D1 DB is overloaded. Too many requests queued.", false, DebugD1),
        new("d1-storage-timeout", "d1", "D1 DB storage operation exceeded timeout which caused object to be reset.", false, DebugD1),
        new("d1-memory-limit", "d1", "D1 DB's isolate exceeded its memory limit and was reset.", false, DebugD1),
        new("d1-cpu-limit", "d1", "D1 DB exceeded its CPU time limit and was reset.", false, DebugD1),
        // Reported by users when a database reaches its size limit (10 GB), not in the official error table.
        new("d1-exceeded-max-size", "d1", "Exceeded maximum DB size", false, D1Limits),
        // R2 through the binding ("<action>: <text> (<code>)", an R2Error) and its S3 API (XML, the S3 code).
        new("r2-internal-error", "r2", "We encountered an internal error. Please try again.", true, R2Errors, Status: 500, Code: 10001, S3Code: "InternalError"),
        new("r2-service-unavailable", "r2", "Service is temporarily unavailable.", true, R2Errors, Status: 503, Code: 10043, S3Code: "ServiceUnavailable"),
        // One write per second per key; more concurrent writes to one key are refused.
        new("r2-too-many-requests", "r2", "Reduce your concurrent request rate for the same object.", true, R2Errors, Status: 429, Code: 10058, S3Code: "TooManyRequests"),
        // KV: one write per second to a key; the binding throws with the status it got.
        new("kv-put-rate-limited", "kv", "KV PUT failed: 429 Too Many Requests", true, KvLimits, Status: 429, Operations: ["put"]),
        // A Worker that failed, as the edge answers its caller ("error code: 1101", status): the
        // Worker's own code never runs.
        new("worker-exception", "worker", "Worker threw exception", false, WorkerErrors, Status: 500, Code: 1101),
        new("worker-exceeded-cpu", "worker", "Worker exceeded CPU time limit.", false, WorkerErrors, Status: 503, Code: 1102),
        // A subrequest whose connection fails: the calling Worker's fetch fails with the runtime's text
        // (answered here as a 502 carrying it, as a partition is). "route": another stack's call to
        // the stack the rule names; "egress": the named stack's own fetches beyond the harness.
        new("route-connection-lost", "route", "Network connection lost.", true, WorkerLimits),
        new("egress-connection-lost", "egress", "Network connection lost.", true, WorkerLimits),
        // The API's global limit (1,200 requests per 5 minutes): every call is refused for 5 minutes.
        new("api-rate-limited", "api", "More than 1200 requests per 300 seconds reached. Please wait and consider throttling your request speed",
            true, "https://developers.cloudflare.com/fundamentals/api/reference/limits/", Status: 429, Code: 971),
    ];

    /// <summary>The services whose faults are applied so far, and the operations each knows.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Operations = new Dictionary<string, string[]>
    {
        ["d1"] = ["query", "batch", "exec", "*"],
        // The binding's methods (resumeMultipartUpload, synchronous, is not one); S3 requests map onto them.
        ["r2"] = ["head", "get", "put", "delete", "list", "createMultipartUpload", "*"],
        ["kv"] = ["get", "put", "delete", "list", "*"],
        // The Worker's fetch handler.
        ["worker"] = ["fetch", "*"],
        // The hop to a stack from another (route), and a stack's fetches beyond the harness (egress).
        ["route"] = ["fetch", "*"],
        ["egress"] = ["fetch", "*"],
        // The local Cloudflare API's operations by name (d1.create, scripts.upload, kv.values.put, …), or "*".
        ["api"] = [],
    };

    public static FaultError? Find(string name) => Errors.FirstOrDefault(e => e.Name == name);
}
