using System.Text.Json;
using Cloudflare.Emulation.Load;
using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// A short load run through the platform (correctness only; numbers belong to the benchmark): many
/// users, each with its own token and bookmark, in an open model, with no failure and no
/// read-your-writes violation. Makes users in an account: disruptive harness.
/// </summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed class LoadRunTests(DisruptiveHarnessFixture harness)
{
    [Fact]
    public async Task A_short_load_of_many_users_sees_no_error_and_no_read_your_writes_violation()
    {
        var (options, problem) = LoadOptions.Parse(["--users", "100", "--seconds", "8", "--think", "1s"]);
        Assert.Null(problem);
        var worker = new Uri(harness.Supervisor.Find(HarnessFixture.StackOf("account-1"))!.Url! + "/");
        var users = await LoadRun.SignInAsync(harness.Http, harness.PlatformUrl, worker, "account-1", harness.Tokens, options!.Users, CancellationToken.None);
        Assert.Equal(100, users.Select(u => u.Token).Distinct().Count());

        // As the benchmark does: a few unmeasured seconds first (first connections; a stack another
        // test of this harness has just restarted).
        // A client of its own, whose idle connections are let go before the platform closes them: the
        // harness's shared one may hold a connection other tests left idle, which the platform has
        // closed, and an upload (not retried, unlike a read) sent on it fails at once.
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1) }) { Timeout = TimeSpan.FromSeconds(30) };
        await new LoadRun(http, harness.PlatformUrl, "account-1", options.Think).RunAsync(users, TimeSpan.FromSeconds(2), CancellationToken.None);
        var run = new LoadRun(http, harness.PlatformUrl, "account-1", options.Think);
        var stack = HarnessFixture.StackOf("account-1");
        // The peaks start again here: what the test checks of them is this run's.
        var (platformBefore, accountBefore) = (await UsageAsync("platform", resetPeaks: true), await UsageAsync(stack, resetPeaks: true));
        await run.RunAsync(users, TimeSpan.FromSeconds(options.Seconds), CancellationToken.None);
        var account = (await UsageAsync(stack)).Minus(accountBefore);
        var cost = CostProjection.From(run.Samples.Count, options.Seconds, options.Think, (await UsageAsync("platform")).Minus(platformBefore), account);
        var report = LoadReport.From(options, run, cost: cost);

        Assert.True(report.Overall.Requests > 400, report.Summary);
        var failed = run.Samples.Where(s => s.Failed).ToList();
        Assert.True(failed.Count == 0, string.Join("; ", failed.Select(s => $"{s.Operation} {s.Status} at {s.DueSeconds:0.0}s after {s.Milliseconds:0} ms: {s.Failure}")));
        Assert.Equal(0, report.ReadYourWritesViolations);
        Assert.Contains(report.Operations, s => s.Operation == "read-own" && s.Requests > 10);
        // The stacks counted what production would bill: every request the platform forwarded reached
        // the account's Worker, each upload one R2 put, each download one R2 get.
        var sent = run.Samples.Count(s => s.Status != 0);
        Assert.InRange(account.Worker.Requests, sent, sent + 20);
        var bucket = Assert.Single(account.Of("r2"));
        Assert.Equal(run.Samples.Count(s => s.Operation == "upload" && s.Status == 201), bucket.Calls("put"));
        Assert.Equal(run.Samples.Count(s => s.Operation == "download" && s.Status == 200), bucket.Calls("get"));
        var d1 = Assert.Single(account.Of("d1"));
        Assert.True(d1.Queries >= sent && d1.RowsRead > 0 && d1.RowsWritten > 0 && d1.DurationMs > 0, d1.ToString());
        // This run's peaks: its uploads (100 KB and more) are the largest bodies, and a create the most D1 queries.
        var uploads = run.Samples.Count(s => s.Operation == "upload");
        Assert.True(uploads == 0 || account.Worker.MaxRequestBodyBytes >= 100_000, account.Worker.ToString());
        Assert.True(account.Worker.MaxD1Queries is > 0 and < 1000 && account.Worker.MaxConcurrentCalls <= 6, account.Worker.ToString());
        // The projection's lines are the counts per user request: R2 class A is the uploads' puts.
        var classA = Assert.Single(cost.Lines, l => l.Price == CloudflarePricing.R2ClassA);
        Assert.Equal(bucket.Calls("put") / (double)run.Samples.Count, classA.PerRequest, 9);
        Assert.Equal(classA.PerRequest * cost.TargetRequestsPerMonth, classA.PerMonth, 3);
        Assert.True(cost.AccountD1MeanQueryMs > 0, cost.Table());
        Assert.DoesNotContain(cost.Limits, l => l.Crossed);
        Assert.Matches(@"^load users=100 rps=\d+\.\d p50_ms=[\d.]+ p95_ms=[\d.]+ p99_ms=[\d.]+ errors=0 ryw_violations=0$", report.Summary);
    }

    private async Task<StackUsage> UsageAsync(string stack, bool resetPeaks = false)
    {
        var (status, envelope) = resetPeaks
            ? await harness.CloudflareAsync(HttpMethod.Delete, $"/__emulator/stacks/{stack}/usage/peaks")
            : await harness.CloudflareAsync(HttpMethod.Get, $"/__emulator/stacks/{stack}/usage");
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        return envelope.GetProperty("result").Deserialize<StackUsage>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    [Theory]
    [InlineData(new[] { "--users", "0" }, "--users")]
    [InlineData(new[] { "--seconds", "-1" }, "--seconds")]
    [InlineData(new[] { "--account", "account-99" }, "--account")]
    [InlineData(new[] { "--think", "soon" }, "--think")]
    [InlineData(new[] { "--report", "/proc/no-such-folder" }, "--report")]
    [InlineData(new[] { "--userz", "10" }, "--userz")]
    [InlineData(new[] { "--users", "100", "--step", "0" }, "--step")]
    [InlineData(new[] { "--users", "100", "--step", "200" }, "--step")]
    public void Bad_arguments_are_refused_naming_the_argument(string[] args, string argument)
    {
        var (options, problem) = LoadOptions.Parse(args);

        Assert.Null(options);
        Assert.StartsWith(argument + ":", problem);
    }
}
