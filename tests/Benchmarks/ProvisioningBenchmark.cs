using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Cloudflare.Emulation.Platform;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// The whole harness (platform + control plane + 2 accounts): signup → first successful request to
/// the new tenant, N times in a row, while the existing tenants serve steady traffic.
/// </summary>
internal static class ProvisioningBenchmark
{
    public static async Task RunAsync(int signups)
    {
        await using var harness = await BenchHarness.StartAsync(accounts: 2);
        var (supervisor, tokens, platform, adminToken) = (harness.Supervisor, harness.Tokens, harness.Platform, harness.AdminToken);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        // Steady traffic on the existing tenants, through the platform.
        var existing = new List<(Uri Url, string Token)>();
        foreach (var account in new[] { "account-1", "account-2" })
        {
            var owner = await new AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(new Uri(supervisor.Find($"acct-{account}")!.Url!), account, CancellationToken.None);
            existing.Add((new Uri(platform, $"/accounts/{account}/api/clients?limit=10"), tokens.Issue(account, owner, TimeSpan.FromHours(1))));
        }
        var load = new SteadyLoad(http, existing, ratePerSecond: 100);
        var from = load.Now;

        var times = new List<double>();
        for (var i = 0; i < signups; i++)
        {
            var slug = $"bench-{i}-{Guid.NewGuid():N}"[..16];
            var clock = Stopwatch.StartNew();
            using var signup = new HttpRequestMessage(HttpMethod.Post, new Uri(platform, "/admin/accounts")) { Content = JsonContent.Create(new { slug, name = slug }) };
            signup.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using (var response = await http.SendAsync(signup))
            {
                response.EnsureSuccessStatusCode();
            }
            // First successful request: the new tenant's owner (given the account by the platform's
            // service call) lists its users through the router.
            var owner = await new AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(new Uri(supervisor.Find($"acct-{slug}")!.Url!), slug, CancellationToken.None);
            using var first = new HttpRequestMessage(HttpMethod.Get, new Uri(platform, $"/accounts/{slug}/api/users"));
            first.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Issue(slug, owner, TimeSpan.FromMinutes(5)));
            using (var response = await http.SendAsync(first))
            {
                response.EnsureSuccessStatusCode();
            }
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        var to = load.Now;
        await load.DisposeAsync();
        var others = load.Between(from, to);
        times.Sort();
        Console.WriteLine($"provisioning benchmark — {signups} signups in a row, 2 existing tenants under steady traffic");
        Console.WriteLine("| signup → first request p50 (ms) | p95 (ms) | max (ms) | requests to existing tenants | errors | their latency p50 / p99 (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {TempStacks.Percentile(times, 50):0} | {TempStacks.Percentile(times, 95):0} | {times[^1]:0} | {others.Requests} ({others.RatePerSecond:0}/s) | {others.Errors} | {others.P50:0} / {others.P99:0} |"));
    }
}
