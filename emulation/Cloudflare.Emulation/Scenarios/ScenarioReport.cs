using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Cloudflare.Emulation.Scenarios;

/// <summary>One account's requests in a run: how many, how many failed, and their latency.</summary>
public sealed record TenantOutcome(string Account, string Role, int Requests, int Errors, double P50Ms, double P95Ms, double P99Ms);

/// <summary>One assertion's verdict.</summary>
public sealed record AssertionOutcome(string Assertion, double? Value, bool Holds);

/// <summary>One second of one account's traffic, for the timeline: the median of its answered requests (none: null).</summary>
public sealed record TimelinePoint(string Account, int Second, int Requests, int Errors, double? P50Ms);

/// <summary>What a scenario run saw: per tenant, per step, the metrics, and whether every assertion held.</summary>
public sealed record ScenarioReport(
    string Scenario,
    string? Description,
    DateTimeOffset StartedAt,
    double TrafficSeconds,
    IReadOnlyList<TenantOutcome> Tenants,
    IReadOnlyList<ScenarioStepLog> Steps,
    IReadOnlyDictionary<string, double?> Metrics,
    IReadOnlyList<AssertionOutcome> Assertions,
    IReadOnlyDictionary<string, string> Signups,
    IReadOnlyList<TimelinePoint> Timeline)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Every assertion held and every step was done — a step that failed would make its assertions
    /// hold vacuously (a demotion refused, say) — except signups, whose refusal is what
    /// <c>signupsRefused</c> measures, and rollouts, whose failures <c>rolloutFailures</c> counts.
    /// </summary>
    public bool Passed => Assertions.All(a => a.Holds) && Steps.All(s => s.Ok || s.Action is "signup" or "resume-signup" or "rollout");

    public static ScenarioReport From(Scenario scenario, DateTimeOffset startedAt, double trafficSeconds, ScenarioTrafficRun traffic,
        IReadOnlyList<ScenarioStepLog> steps, IReadOnlyDictionary<string, double?> afterRun, IReadOnlyDictionary<string, string> signups)
    {
        var samples = traffic.Samples.ToList();
        var accounts = Enumerable.Range(1, scenario.Accounts).Select(i => $"account-{i}").ToList();
        var named = scenario.Steps.SelectMany(s => s.Targets()).ToHashSet();
        // A rule for every stack, or the platform every request passes through, touches every account.
        var everyone = named.Contains("*") || named.Contains("platform");
        var targets = accounts.Where(a => everyone || named.Contains(Hosting.WorkerStackResource.AccountScriptPrefix + a)).ToHashSet();
        var tenants = accounts.Select(a =>
        {
            var mine = samples.Where(s => s.Account == a).ToList();
            var ms = mine.Select(s => s.Milliseconds).Order().ToList();
            return new TenantOutcome(a, targets.Contains(a) ? "target" : "other", mine.Count, mine.Count(s => s.Failed),
                Percentile(ms, 0.50), Percentile(ms, 0.95), Percentile(ms, 0.99));
        }).ToList();

        var others = samples.Where(s => !targets.Contains(s.Account)).ToList();
        var targeted = samples.Where(s => targets.Contains(s.Account)).ToList();
        var metrics = new Dictionary<string, double?>
        {
            ["requests"] = samples.Count,
            ["othersErrors"] = others.Count(s => s.Failed),
            ["targetErrors"] = targeted.Count(s => s.Failed),
            ["othersP99Ms"] = others.Count == 0 ? null : Percentile([.. others.Select(s => s.Milliseconds).Order()], 0.99),
            ["targetP99Ms"] = targeted.Count == 0 ? null : Percentile([.. targeted.Select(s => s.Milliseconds).Order()], 0.99),
            ["readYourWritesViolations"] = traffic.ReadYourWritesViolations,
            ["recoveredWithinSeconds"] = RecoveredWithin(targeted, steps),
            ["writesAfterDemotion"] = WritesAfterDemotion(traffic, steps, scenario),
            ["targetOutageSeconds"] = OutageSeconds(targeted),
            ["signupsRefused"] = steps.Count(s => s.Action is "signup" or "resume-signup" && !s.Ok),
        };
        foreach (var (metric, value) in afterRun)
        {
            metrics[metric] = value;
        }
        var assertions = scenario.Assertions.Select(text =>
        {
            ScenarioAssertion.TryParse(text, out var assertion, out _);
            var value = metrics.GetValueOrDefault(assertion.Metric);
            return new AssertionOutcome(text, value, assertion.Holds(value));
        }).ToList();
        var timeline = samples.GroupBy(s => (s.Account, Second: (int)s.StartSeconds)).OrderBy(g => g.Key.Account).ThenBy(g => g.Key.Second)
            .Select(g => new TimelinePoint(g.Key.Account, g.Key.Second, g.Count(), g.Count(s => s.Failed),
                // Of the requests that succeeded: failures are often fast, and would pull the line down as the tenant fails.
                g.Any(s => !s.Failed) ? Percentile([.. g.Where(s => !s.Failed).Select(s => s.Milliseconds).Order()], 0.50) : null))
            .ToList();
        return new ScenarioReport(scenario.Name, scenario.Description, startedAt, trafficSeconds, tenants, steps, metrics, assertions, signups, timeline);
    }

    /// <summary>
    /// Seconds from the start of the last step to the end of the targets' last failed request; 0 when
    /// none failed after it; null when they were still failing at the end (never recovered).
    /// </summary>
    internal static double? RecoveredWithin(List<ScenarioSample> targeted, IReadOnlyList<ScenarioStepLog> steps)
    {
        var last = steps.Count == 0 ? 0 : steps.Max(s => s.At);
        var failures = targeted.Where(s => s.Failed && s.StartSeconds + (s.Milliseconds / 1000) >= last).ToList();
        if (failures.Count == 0)
        {
            return 0;
        }
        var lastFailure = failures.Max(s => s.StartSeconds + (s.Milliseconds / 1000));
        var recovered = targeted.Any(s => !s.Failed && s.StartSeconds >= lastFailure);
        return recovered ? Math.Round(lastFailure - last, 2) : null;
    }

    /// <summary>From the targets' first failed request to the end of their last.</summary>
    internal static double OutageSeconds(List<ScenarioSample> targeted)
    {
        var failed = targeted.Where(s => s.Failed).ToList();
        return failed.Count == 0 ? 0 : Math.Round(failed.Max(s => s.StartSeconds + (s.Milliseconds / 1000)) - failed.Min(s => s.StartSeconds), 2);
    }

    /// <summary>Writes a demoted admin had accepted that it sent after its demotion was answered.</summary>
    private static double WritesAfterDemotion(ScenarioTrafficRun traffic, IReadOnlyList<ScenarioStepLog> steps, Scenario scenario)
    {
        var demoted = scenario.Steps.OrderBy(s => s.At).Zip(steps).Where(p => p.First.Action == "demote" && p.Second.Ok)
            .ToDictionary(p => p.First.Account!, p => p.Second.DoneAt);
        return traffic.Acknowledged.Count(w => w.User == "admin" && demoted.TryGetValue(w.Account, out var at) && w.StartSeconds > at);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)], 1);

    public string ToTable(string jsonPath, string pngPath)
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"Scenario {Scenario}: {Description}");
        text.AppendLine(inv, $"{"tenant",-12} {"role",-7} {"requests",9} {"errors",7} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8}");
        foreach (var t in Tenants)
        {
            text.AppendLine(inv, $"{t.Account,-12} {t.Role,-7} {t.Requests,9} {t.Errors,7} {t.P50Ms,8:0.0} {t.P95Ms,8:0.0} {t.P99Ms,8:0.0}");
        }
        text.AppendLine(inv, $"{"step (s)",-9} {"action",-13} {"target",-28} result");
        foreach (var s in Steps)
        {
            text.AppendLine(inv, $"{s.At,-9:0.0} {s.Action,-13} {s.Target,-28} {(s.Ok ? "done" : "NOT DONE: " + (s.Message.Length > 160 ? s.Message[..160] + "…" : s.Message))}");
        }
        text.AppendLine(inv, $"{"assertion",-40} {"value",8} result");
        foreach (var a in Assertions)
        {
            text.AppendLine(inv, $"{a.Assertion,-40} {(a.Value is { } v ? v.ToString("0.##", inv) : "never"),8} {(a.Holds ? "pass" : "FAIL")}");
        }
        text.AppendLine(inv, $"{(Passed ? "PASSED" : "FAILED")} · report {jsonPath} · timeline {pngPath}");
        return text.ToString();
    }

    public void WriteJson(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Json));
    }
}
