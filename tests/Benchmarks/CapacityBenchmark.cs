using Cloudflare.Emulation.Load;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// <c>capacity --years N [--scale 0.1] [--account account-1] [--report DIR]</c>: grows one account of
/// a fresh harness year by year (CapacityRun) and prints each year's row as it is measured, then the
/// table and, last, the summary line; writes report.md, storage.png and times.png.
/// </summary>
internal static class CapacityBenchmark
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var (options, problem) = CapacityOptions.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine($"capacity: {problem}");
            return 2;
        }
        var report = options.ReportDirectory ?? Path.Combine(Repository.Root, ".state", "reports", $"capacity-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}");
        await using var harness = await BenchHarness.StartAsync(accounts: LoadOptions.NumberOf(options.Account));
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var worker = new Uri(harness.Supervisor.Find($"acct-{options.Account}")!.Url! + "/");
        var ownerId = await new Platform.AccountOwnerBootstrap(http, harness.Tokens).EnsureOwnerAsync(worker, options.Account, CancellationToken.None);
        var token = harness.Tokens.Issue(options.Account, ownerId, TimeSpan.FromHours(12));
        var run = new CapacityRun(harness.Supervisor, http, harness.Platform, options.Account, token, options.Scale);
        var years = new List<CapacityYearResult>();
        for (var year = 1; year <= options.Years; year++)
        {
            var started = DateTimeOffset.UtcNow;
            years.Add(await run.GrowAsync(year, CancellationToken.None));
            var y = years[^1];
            Console.WriteLine(FormattableString.Invariant(
                $"capacity: year {year} ({(DateTimeOffset.UtcNow - started).TotalSeconds:0} s): {y.Rows} rows, D1 {y.D1Bytes / 1e6:0.0} MB (log {y.ReplicationLogBytes / 1e6:0.0}), R2 {y.R2Bytes / 1e6:0} MB, list p95 {y.ListP95Ms:0.0} ms, search p95 {y.SearchP95Ms:0.0} ms, export {y.ExportMs:0} ms, restart {y.RestartMs:0} ms, migration {y.MigrationMs:0} ms{(y.Problem is null ? "" : " — " + y.Problem)}"));
        }
        var result = new CapacityReport(options, years);
        result.Write(report);
        Console.Write(result.Table());
        Console.WriteLine($"report: {report}/report.md");
        Console.WriteLine(result.Summary);
        return 0;
    }
}
