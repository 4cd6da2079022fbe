namespace Cloudflare.Emulation.Chaos;

/// <summary>One failure Cloudflare documents, as the Worker's code sees it.</summary>
/// <param name="Name">What a fault rule calls it.</param>
/// <param name="Service">The binding that raises it.</param>
/// <param name="Message">The error's text, exactly as production's binding gives it (after D1's "D1_ERROR: " prefix).</param>
/// <param name="Retryable">Whether Cloudflare says to retry it (read-only queries) or to reduce load instead.</param>
/// <param name="Source">The Cloudflare page that documents it.</param>
/// <param name="Status">For a failure answered over HTTP (the v4 API): its status.</param>
/// <param name="Code">For a failure answered over HTTP: the code in Cloudflare's error envelope.</param>
public sealed record FaultError(string Name, string Service, string Message, bool Retryable, string Source, int? Status = null, int? Code = null);

/// <summary>
/// The errors fault rules may raise, each with the page that documents it: the one list of them (the
/// runtime host's d1-faults.mjs throws whatever text a rule carries). D1 and the v4 API so far; R2,
/// KV and Worker failures are to come (issue 13).
/// </summary>
public static class FaultCatalogue
{
    private const string DebugD1 = "https://developers.cloudflare.com/d1/observability/debug-d1/";
    private const string D1Limits = "https://developers.cloudflare.com/d1/platform/limits/";

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
        // The API's global limit (1,200 requests per 5 minutes): every call is refused for 5 minutes.
        new("api-rate-limited", "api", "More than 1200 requests per 300 seconds reached. Please wait and consider throttling your request speed",
            true, "https://developers.cloudflare.com/fundamentals/api/reference/limits/", Status: 429, Code: 971),
    ];

    /// <summary>The services whose faults are applied so far, and the operations each knows.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Operations = new Dictionary<string, string[]>
    {
        ["d1"] = ["query", "batch", "exec", "*"],
        // The local Cloudflare API's operations by name (d1.create, scripts.upload, kv.values.put, …), or "*".
        ["api"] = [],
    };

    public static FaultError? Find(string name) => Errors.FirstOrDefault(e => e.Name == name);
}
