using Cloudflare.Emulation.Load;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// <c>load --users N --seconds S [--account account-1] [--think 10s] [--report DIR]</c>: virtual users
/// through the platform to one account of a fresh harness, in an open model (LoadRun); prints the
/// table and, last, the summary line; writes report.md and latency.png into the report folder.
/// </summary>
internal static class LoadBenchmark
{
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
        Console.WriteLine($"load: {options.Seconds} s, mean think {options.Think.TotalSeconds:0.###} s (≈{options.Users / options.Think.TotalSeconds:0} requests/s due)…");
        var run = new LoadRun(http, harness.Platform, options.Account, options.Think);
        await run.RunAsync(users, TimeSpan.FromSeconds(options.Seconds), CancellationToken.None);
        var result = LoadReport.From(options, run);
        result.Write(report);
        Console.Write(result.Table());
        Console.WriteLine($"report: {report}/report.md");
        Console.WriteLine(result.Summary);
        return 0;
    }
}
