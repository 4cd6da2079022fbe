using Cloudflare.Emulation.Load;
using Cloudflare.Emulation.Runtime;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// <c>load --users N --seconds S [--account account-1] [--think 10s] [--report DIR]</c>: virtual users
/// through the platform to one account of a fresh harness, in an open model (LoadRun); prints the
/// table and, last, the summary line; writes report.md and latency.png into the report folder.
/// </summary>
internal static class LoadBenchmark
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var (options, problem) = LoadOptions.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine($"load: {problem}");
            return 2;
        }
        var report = options.ReportDirectory ?? Path.Combine(Repository.Root, ".state", "reports", $"load-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}");
        await using var harness = await BenchHarness.StartAsync(accounts: options.AccountNumber);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { Timeout = TimeSpan.FromMinutes(2) };
        var worker = new Uri(harness.Supervisor.Find($"acct-{options.Account}")!.Url! + "/");
        Console.WriteLine($"load: signing in {options.Users} users of {options.Account}…");
        var users = await LoadRun.SignInAsync(http, harness.Platform, worker, options.Account, harness.Tokens, options.Users, CancellationToken.None);
        // A cold harness (JIT, first connections) answers its first seconds slowly: not what is measured.
        await new LoadRun(http, harness.Platform, options.Account, options.Think).RunAsync([.. users.Take(options.Step ?? options.Users)], WarmUp, CancellationToken.None);
        if (options.Step is { } step)
        {
            return await StepAsync(options, step, users, http, harness, report);
        }
        Console.WriteLine($"load: {options.Seconds} s, mean think {options.Think.TotalSeconds:0.###} s (≈{options.Users / options.Think.TotalSeconds:0} requests/s due)…");
        var run = new LoadRun(http, harness.Platform, options.Account, options.Think);
        var usage = await UsageAsync(harness, options.Account, resetPeaks: true);
        var sampler = new ProcessSampler(Processes(harness, options.Account));
        await run.RunAsync(users, TimeSpan.FromSeconds(options.Seconds), CancellationToken.None);
        await sampler.DisposeAsync();
        var used = await UsageAsync(harness, options.Account);
        var cost = CostProjection.From(run.Samples.Count, options.Seconds, options.Think, used.Platform.Minus(usage.Platform), used.Account.Minus(usage.Account));
        var result = LoadReport.From(options, run, sampler.Samples, cost);
        result.Write(report);
        Console.Write(result.Table());
        Console.Write(result.ProcessTable());
        Console.Write(cost.Table());
        Console.WriteLine($"report: {report}/report.md");
        Console.WriteLine(result.Summary);
        return 0;
    }

    /// <summary>
    /// What the platform's and the account's Workers have used so far (read before and after a run;
    /// before, the per-invocation peaks start again, so the run's are its own).
    /// </summary>
    private static async Task<(StackUsage Platform, StackUsage Account)> UsageAsync(BenchHarness harness, string account, bool resetPeaks = false) =>
        (await harness.Supervisor.UsageAsync("platform", CancellationToken.None, resetPeaks),
         await harness.Supervisor.UsageAsync($"acct-{account}", CancellationToken.None, resetPeaks));

    /// <summary>The processes a run's time is spent in: both workerd, the runtime host, and this one (the driver and the harness's C#).</summary>
    private static Dictionary<string, int> Processes(BenchHarness harness, string account)
    {
        var processes = new Dictionary<string, int> { ["driver + harness (.NET)"] = Environment.ProcessId };
        if (harness.Supervisor.HostProcessId is { } host)
        {
            processes["runtime host (Node)"] = host;
        }
        if (harness.Supervisor.Find("platform")?.ProcessId is { } platform)
        {
            processes["platform workerd"] = platform;
        }
        if (harness.Supervisor.Find($"acct-{account}")?.ProcessId is { } tenant)
        {
            processes[$"{account} workerd"] = tenant;
        }
        return processes;
    }

    /// <summary>
    /// Step mode: step, 2 × step, … users, each for --seconds, until p99 passes the target or a
    /// request fails; the capacity is the most users that met it.
    /// </summary>
    private static async Task<int> StepAsync(LoadOptions options, int step, IReadOnlyList<LoadUser> users, HttpClient http, BenchHarness harness, string report)
    {
        int? capacity = null;
        Console.WriteLine("| users | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors | ryw violations |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        for (var count = step; count <= options.Users; count += step)
        {
            var run = new LoadRun(http, harness.Platform, options.Account, options.Think);
            var sampler = new ProcessSampler(Processes(harness, options.Account));
            await run.RunAsync([.. users.Take(count)], TimeSpan.FromSeconds(options.Seconds), CancellationToken.None);
            await sampler.DisposeAsync();
            var result = LoadReport.From(options with { Users = count }, run, sampler.Samples);
            result.Write(Path.Combine(report, $"users-{count}"));
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"| {count} | {result.RequestsPerSecond:0.0} | {result.Overall.P50Ms:0.0} | {result.Overall.P95Ms:0.0} | {result.Overall.P99Ms:0.0} | {result.Overall.Errors} | {result.ReadYourWritesViolations} |"));
            if (result.Overall.P99Ms > LoadOptions.TargetP99Ms || result.Overall.Errors > 0)
            {
                break;
            }
            capacity = count;
        }
        Console.WriteLine($"report: {report}");
        Console.WriteLine(capacity is { } found
            ? $"load capacity_users={found} think_s={options.Think.TotalSeconds:0.###} target=p99<={LoadOptions.TargetP99Ms}ms,errors=0"
            : $"load capacity_users=0 think_s={options.Think.TotalSeconds:0.###} (even {step} users missed p99<={LoadOptions.TargetP99Ms}ms,errors=0)");
        return 0;
    }
}
