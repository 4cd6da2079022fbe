using System.Globalization;
using System.Text;
using Cloudflare.Emulation.Runtime;

namespace Cloudflare.Emulation.Load;

/// <summary>One metered line: what a user request used on average, and that for a month at the target load, with its cost.</summary>
public sealed record CostLine(Price Price, double PerRequest, double PerMonth)
{
    public double Usd => Math.Max(0, PerMonth - Price.IncludedPerMonth) / 1_000_000 * Price.UsdPerMillion;
}

/// <summary>A measured value against a documented limit.</summary>
public sealed record LimitCheck(Limit Limit, double Measured)
{
    public bool Crossed => Measured > Limit.Value;
}

/// <summary>
/// What a load run used in production terms — Worker invocations, D1 queries and rows, R2 class A/B,
/// KV operations, counted in the stacks themselves (StackUsage) — per user request, projected to a
/// month of <see cref="TargetUsers"/> users at the run's think time for <see cref="BusyHoursPerMonth"/>
/// hours (ADR 0034), with the account database's utilisation (queries per second × their measured
/// time) against D1's one-query-at-a-time limit, and the per-invocation peaks against Worker limits.
/// </summary>
public sealed record CostProjection(
    long UserRequests,
    double Seconds,
    TimeSpan Think,
    StackUsage Platform,
    StackUsage Account,
    IReadOnlyList<CostLine> Lines,
    double AccountD1UtilisationMeasured,
    double AccountD1UtilisationAtTarget,
    double AccountD1MeanQueryMs,
    IReadOnlyList<LimitCheck> Limits)
{
    /// <summary>The system's specified load on one account.</summary>
    public const int TargetUsers = 4000;

    /// <summary>Advisers work office hours: 8 hours on 22 days a month; the load is that busy only then.</summary>
    public const double BusyHoursPerMonth = 8 * 22;

    public double TargetRequestsPerMonth => TargetUsers / Think.TotalSeconds * 3600 * BusyHoursPerMonth;

    public double UsdPerMonth => CloudflarePricing.BaseUsdPerMonth + Lines.Sum(l => l.Usd);

    /// <summary>The projection from two readings of each stack, taken before and after the run.</summary>
    public static CostProjection From(long userRequests, double seconds, TimeSpan think, StackUsage platform, StackUsage account)
    {
        var both = platform.Plus(account);
        double Of(string service, Func<BindingUsage, double> pick) => both.Of(service).Sum(pick);
        var perMonth = TargetUsers / think.TotalSeconds * 3600 * BusyHoursPerMonth;
        CostLine Line(Price price, double total) => new(price, total / Math.Max(1, userRequests), total / Math.Max(1, userRequests) * perMonth);
        var lines = new List<CostLine>
        {
            Line(CloudflarePricing.WorkerRequests, both.Worker.Requests),
            Line(CloudflarePricing.D1RowsRead, Of("d1", b => b.RowsRead)),
            Line(CloudflarePricing.D1RowsWritten, Of("d1", b => b.RowsWritten)),
            Line(CloudflarePricing.R2ClassA, Of("r2", b => b.Calls(CloudflarePricing.R2ClassAMethods))),
            Line(CloudflarePricing.R2ClassB, Of("r2", b => b.Calls(CloudflarePricing.R2ClassBMethods))),
            Line(CloudflarePricing.KvReads, Of("kv", b => b.Calls(CloudflarePricing.KvReadMethods))),
            Line(CloudflarePricing.KvWrites, Of("kv", b => b.Calls("put"))),
            Line(CloudflarePricing.KvDeletes, Of("kv", b => b.Calls("delete"))),
            Line(CloudflarePricing.KvLists, Of("kv", b => b.Calls("list"))),
        };
        var accountQueries = account.Of("d1").Sum(b => b.Queries);
        var accountMs = account.Of("d1").Sum(b => b.DurationMs);
        var meanQueryMs = accountQueries == 0 ? 0 : accountMs / accountQueries;
        var queriesPerRequest = accountQueries / (double)Math.Max(1, userRequests);
        var peaks = both.Worker;
        return new CostProjection(userRequests, seconds, think, platform, account, lines,
            accountMs / 1000 / Math.Max(1, seconds),
            TargetUsers / think.TotalSeconds * queriesPerRequest * meanQueryMs / 1000,
            meanQueryMs,
            [
                new(CloudflarePricing.D1QueriesPerInvocation, peaks.MaxD1Queries),
                new(CloudflarePricing.SubrequestsPerInvocation, peaks.MaxSubrequests),
                new(CloudflarePricing.SimultaneousConnections, peaks.MaxConcurrentCalls),
                new(CloudflarePricing.RequestBodyBytes, peaks.MaxRequestBodyBytes),
            ]);
    }

    public string Table()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(inv, $"Projected to {TargetUsers} users at {Think.TotalSeconds:0.#} s mean think, {BusyHoursPerMonth:0} busy hours a month ({TargetRequestsPerMonth / 1e6:0.0} M user requests; prices of {CloudflarePricing.RecordedOn}, Workers Paid):");
        text.AppendLine();
        text.AppendLine("| metered | per user request | per month | included | USD / month |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var line in Lines)
        {
            text.AppendLine(inv, $"| {line.Price.What} | {line.PerRequest:0.###} | {line.PerMonth / 1e6:0.##} M | {line.Price.IncludedPerMonth / 1e6:0.##} M | {line.Usd:0.00} |");
        }
        text.AppendLine(inv, $"| base (Workers Paid) | | | | {CloudflarePricing.BaseUsdPerMonth:0.00} |");
        text.AppendLine(inv, $"| **total** (CPU time and storage not included) | | | | **{UsdPerMonth:0.00}** |");
        text.AppendLine();
        text.AppendLine(inv, $"Account D1 (one database, one query at a time): mean query {AccountD1MeanQueryMs:0.###} ms; busy {AccountD1UtilisationMeasured:P1} of the run; at {TargetUsers} users it would be {AccountD1UtilisationAtTarget:P1} busy.");
        text.AppendLine();
        text.AppendLine("| limit (per invocation) | largest in the run | limit | crossed |");
        text.AppendLine("|---|---|---|---|");
        foreach (var check in Limits)
        {
            text.AppendLine(inv, $"| {check.Limit.What} | {check.Measured:0} | {check.Limit.Value} | {(check.Crossed ? "**yes**" : "no")} |");
        }
        return text.ToString();
    }
}
