namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// What a stack's Worker has used since its workerd started (<c>GET /usage</c>, control-entrypoint.js):
/// its fetch handler's requests and per-invocation peaks, and each D1, R2 and KV binding's calls.
/// Counters only grow while the stack runs; a restart starts them at zero. <see cref="Minus"/> is
/// what happened between two readings.
/// </summary>
public sealed record StackUsage(InvocationUsage Worker, IReadOnlyDictionary<string, BindingUsage> Bindings)
{
    /// <summary>This reading less an earlier one (peaks are this reading's: they cannot be taken apart).</summary>
    public StackUsage Minus(StackUsage earlier) => new(
        Worker with { Requests = Worker.Requests - earlier.Worker.Requests },
        Bindings.ToDictionary(b => b.Key, b => earlier.Bindings.TryGetValue(b.Key, out var before) ? b.Value.Minus(before) : b.Value));

    /// <summary>Two stacks' usage together (e.g. the platform's and an account's).</summary>
    public StackUsage Plus(StackUsage other) => new(
        new InvocationUsage(
            Worker.Requests + other.Worker.Requests,
            Math.Max(Worker.MaxD1Queries, other.Worker.MaxD1Queries),
            Math.Max(Worker.MaxStorageOperations, other.Worker.MaxStorageOperations),
            Math.Max(Worker.MaxSubrequests, other.Worker.MaxSubrequests),
            Math.Max(Worker.MaxConcurrentCalls, other.Worker.MaxConcurrentCalls),
            Math.Max(Worker.MaxRequestBodyBytes, other.Worker.MaxRequestBodyBytes)),
        Bindings.Concat(other.Bindings).GroupBy(b => b.Key).ToDictionary(g => g.Key, g => g.Select(b => b.Value).Aggregate((a, b) => a.Plus(b))));

    /// <summary>The bindings of one service ("d1", "r2", "kv").</summary>
    public IEnumerable<BindingUsage> Of(string service) => Bindings.Values.Where(b => b.Service == service);
}

/// <summary>The fetch handler's requests, and the most any one invocation asked for (invocation-meter.js).</summary>
public sealed record InvocationUsage(long Requests, long MaxD1Queries, long MaxStorageOperations, long MaxSubrequests, long MaxConcurrentCalls, long MaxRequestBodyBytes);

/// <summary>
/// One binding's calls: D1's statements with the rows it reports read and written and their time;
/// R2's and KV's calls by method (get, put, list…).
/// </summary>
public sealed record BindingUsage(string Service, long Queries = 0, long RowsRead = 0, long RowsWritten = 0, double DurationMs = 0,
    IReadOnlyDictionary<string, long>? Operations = null)
{
    public long Calls(params string[] methods) => methods.Sum(m => Operations?.GetValueOrDefault(m) ?? 0);

    public BindingUsage Minus(BindingUsage earlier) => new(Service, Queries - earlier.Queries, RowsRead - earlier.RowsRead,
        RowsWritten - earlier.RowsWritten, DurationMs - earlier.DurationMs, Combine(Operations, earlier.Operations, -1));

    public BindingUsage Plus(BindingUsage other) => new(Service, Queries + other.Queries, RowsRead + other.RowsRead,
        RowsWritten + other.RowsWritten, DurationMs + other.DurationMs, Combine(Operations, other.Operations, 1));

    private static Dictionary<string, long> Combine(IReadOnlyDictionary<string, long>? a, IReadOnlyDictionary<string, long>? b, int sign) =>
        (a ?? new Dictionary<string, long>()).Keys.Union((b ?? new Dictionary<string, long>()).Keys)
            .ToDictionary(k => k, k => (a?.GetValueOrDefault(k) ?? 0) + (sign * (b?.GetValueOrDefault(k) ?? 0)));
}
