namespace Cloudflare.Emulation.Load;

/// <summary>A metered price on the Workers Paid plan: what is included each month, and the price of each million beyond.</summary>
public sealed record Price(string What, double IncludedPerMonth, double UsdPerMillion, string Source);

/// <summary>A documented limit the load report compares what it measured against.</summary>
public sealed record Limit(string What, long Value, string Source);

/// <summary>
/// Cloudflare's prices and limits that the load report projects cost with and checks against — the
/// one place they live. Each names the page it was taken from. They were recorded from Cloudflare's
/// published docs as of <see cref="RecordedOn"/>, not fetched at run time (the harness is offline):
/// check the pages before quoting a bill.
/// </summary>
public static class CloudflarePricing
{
    public const string RecordedOn = "2026-12-01";

    /// <summary>The Workers Paid plan's monthly base, which includes the allowances below.</summary>
    public const double BaseUsdPerMonth = 5.00;

    private const string Workers = "https://developers.cloudflare.com/workers/platform/pricing/";
    private const string D1 = "https://developers.cloudflare.com/d1/platform/pricing/";
    private const string R2 = "https://developers.cloudflare.com/r2/pricing/";
    private const string Kv = "https://developers.cloudflare.com/kv/platform/pricing/";

    public static readonly Price WorkerRequests = new("Worker requests", 10_000_000, 0.30, Workers);
    public static readonly Price D1RowsRead = new("D1 rows read", 25_000_000_000, 0.001, D1);
    public static readonly Price D1RowsWritten = new("D1 rows written", 50_000_000, 1.00, D1);
    public static readonly Price R2ClassA = new("R2 class A operations", 1_000_000, 4.50, R2);
    public static readonly Price R2ClassB = new("R2 class B operations", 10_000_000, 0.36, R2);
    public static readonly Price KvReads = new("KV reads", 10_000_000, 0.50, Kv);
    public static readonly Price KvWrites = new("KV writes", 1_000_000, 5.00, Kv);
    public static readonly Price KvDeletes = new("KV deletes", 1_000_000, 5.00, Kv);
    public static readonly Price KvLists = new("KV lists", 1_000_000, 5.00, Kv);

    /// <summary>R2 binding methods billed as class A (writes, lists) and class B (reads); delete is free.</summary>
    public static readonly string[] R2ClassAMethods = ["put", "list", "createMultipartUpload"];
    public static readonly string[] R2ClassBMethods = ["get", "head"];
    public static readonly string[] KvReadMethods = ["get", "getWithMetadata"];

    private const string WorkerLimits = "https://developers.cloudflare.com/workers/platform/limits/";
    private const string D1Limits = "https://developers.cloudflare.com/d1/platform/limits/";

    public static readonly Limit D1QueriesPerInvocation = new("D1 queries per Worker invocation (paid)", 1_000, D1Limits);
    public static readonly Limit SubrequestsPerInvocation = new("subrequests per invocation (paid; D1, R2 and KV calls count)", 10_000, WorkerLimits);
    public static readonly Limit SimultaneousConnections = new("simultaneous open connections per invocation (R2 and KV calls here; more wait)", 6, WorkerLimits);
    public static readonly Limit RequestBodyBytes = new("request body size (Free and Pro plans)", 100L * 1000 * 1000, WorkerLimits);
    public static readonly Limit D1DatabaseBytes = new("D1 database size (paid)", 10L * 1000 * 1000 * 1000, D1Limits);
}
