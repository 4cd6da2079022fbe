using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Aspire.Hosting.Testing;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// The whole harness (platform + control plane + 2 accounts): signup → first successful request to
/// the new tenant, N times in a row, while the existing tenants serve steady traffic.
/// </summary>
internal static class ProvisioningBenchmark
{
    public static async Task RunAsync(int signups)
    {
        var stateRoot = Path.Combine(Path.GetTempPath(), "emulation-bench", Guid.NewGuid().ToString("N"));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--accounts", "2", "--state-root", stateRoot, "--hot-reload", "false"]);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        foreach (var name in new[] { "platform", "account-1", "account-2" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name);
        }
        var supervisor = app.Services.GetRequiredService<StackSupervisor>();
        var tokens = app.Services.GetRequiredService<TokenIssuer>();
        var platform = new Uri(supervisor.Find("platform")!.Url!);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var adminToken = PlatformSecrets.LoadOrCreateAdminToken(stateRoot);

        // Steady traffic on the existing tenants, through the platform.
        var existing = new List<(Uri Url, string Token)>();
        foreach (var account in new[] { "account-1", "account-2" })
        {
            var owner = await new AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(new Uri(supervisor.Find($"acct-{account}")!.Url!), account, CancellationToken.None);
            existing.Add((new Uri(platform, $"/accounts/{account}/api/clients?limit=10"), tokens.Issue(account, owner, TimeSpan.FromHours(1))));
        }
        var load = new SteadyLoad(http, existing, clients: 1, TimeSpan.FromMilliseconds(10));

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
            // First successful request: the new tenant's owner lists its users through the router.
            var owner = await new AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(new Uri(supervisor.Find($"acct-{slug}")!.Url!), slug, CancellationToken.None);
            using var first = new HttpRequestMessage(HttpMethod.Get, new Uri(platform, $"/accounts/{slug}/api/users"));
            first.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.Issue(slug, owner, TimeSpan.FromMinutes(5)));
            using (var response = await http.SendAsync(first))
            {
                response.EnsureSuccessStatusCode();
            }
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        await load.DisposeAsync();
        times.Sort();
        Console.WriteLine($"provisioning benchmark — {signups} signups in a row, 2 existing tenants under steady traffic");
        Console.WriteLine("| signup → first request p50 (ms) | p95 (ms) | max (ms) | requests to existing tenants | errors |");
        Console.WriteLine("|---|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {TempStacks.Percentile(times, 50):0} | {TempStacks.Percentile(times, 95):0} | {times[^1]:0} | {load.Requests} | {load.Errors} |"));
        await app.StopAsync();
        try
        {
            Directory.Delete(stateRoot, recursive: true);
        }
        catch (IOException)
        {
            // Temp folder.
        }
    }
}
