using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Cloudflare.Emulation.Seeding;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// What fault rules cost a tenant none of them match: the same account query, through the platform,
/// with no rules and with rules for its stack in every layer it passes that never fire (another
/// operation, or a window not yet open), in alternating rounds so drift in the machine falls on
/// both. Target (issue 13): p50 within 2 %.
/// </summary>
internal static class ChaosOverheadBenchmark
{
    private const int Rounds = 8;
    private const int RulesWhenOn = 10;

    public static async Task RunAsync(int requestsPerRound)
    {
        await using var harness = await BenchHarness.StartAsync(accounts: 1);
        var (http, viaPlatform, direct, token) = await harness.OwnerAsync("account-1");
        using var _ = http;
        await new SeedLoader(http, direct, token).LoadAsync(new SeedDataGenerator(7).Generate(new SeedSize(200)), progress: null, CancellationToken.None);

        using var api = new HttpClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", harness.ControlPlane.ApiToken);
        var faults = new Uri(harness.ControlPlane.BaseUrl, "/__emulator/chaos/faults");
        // Rules for this very stack in every layer the request passes — the platform's hop to it
        // (route), its fetch handler (worker), its D1 and KV bindings, R2 — checked on each call,
        // none firing: another operation, or a window that has not opened.
        var later = DateTimeOffset.UtcNow.AddDays(1);
        object[] idle =
        [
            .. Enumerable.Range(0, 2).Select(_ => new { stack = "acct-account-1", service = "d1", operation = "exec", error = "d1-overloaded-too-many-queued" }),
            .. Enumerable.Range(0, 2).Select(_ => new { stack = "acct-account-1", service = "kv", operation = "delete", latencyMs = 100 }),
            .. Enumerable.Range(0, 2).Select(_ => new { stack = "acct-account-1", service = "r2", operation = "put", error = "r2-internal-error" }),
            .. Enumerable.Range(0, 2).Select(_ => (object)new { stack = "acct-account-1", service = "worker", operation = "fetch", error = "worker-exception", from = later }),
            .. Enumerable.Range(0, 2).Select(_ => (object)new { stack = "acct-account-1", service = "route", operation = "fetch", error = "route-connection-lost", from = later }),
        ];

        var without = new List<double>();
        var with = new List<double>();
        var query = new Uri(viaPlatform, "api/clients?status=active&sort=name&limit=50");
        for (var i = 0; i < 30; i++)
        {
            (await http.GetAsync(query)).EnsureSuccessStatusCode();
        }
        for (var round = 0; round < Rounds * 2; round++)
        {
            var on = round % 2 == 1;
            (await api.PostAsJsonAsync(faults, on ? idle : [])).EnsureSuccessStatusCode();
            var times = on ? with : without;
            for (var i = 0; i < requestsPerRound; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await http.GetAsync(query);
                await response.Content.ReadAsByteArrayAsync();
                times.Add(clock.Elapsed.TotalMilliseconds);
                response.EnsureSuccessStatusCode();
            }
        }
        (await api.PostAsJsonAsync(faults, Array.Empty<object>())).EnsureSuccessStatusCode();

        without.Sort();
        with.Sort();
        var p50Without = TempStacks.Percentile(without, 50);
        var p50With = TempStacks.Percentile(with, 50);
        var overhead = (p50With - p50Without) / p50Without * 100;
        Console.WriteLine($"chaos no-match overhead — {Rounds} rounds of {requestsPerRound} account queries each way, {RulesWhenOn} rules for the stack that never fire");
        Console.WriteLine("| rules | p50 (ms) | p95 (ms) | requests |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| none | {p50Without:0.00} | {TempStacks.Percentile(without, 95):0.00} | {without.Count} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {RulesWhenOn}, none matching | {p50With:0.00} | {TempStacks.Percentile(with, 95):0.00} | {with.Count} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"chaos no_match_overhead_p50={overhead:+0.0;-0.0}% target<=2%"));
    }
}
