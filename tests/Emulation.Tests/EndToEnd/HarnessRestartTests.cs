using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Every account comes back after a restart of the harness — the AppHost's and those signed up while
/// it ran — with its data and the current release's migrations (on new ports: the platform reaches
/// each by its workers.dev name).
/// </summary>
public sealed class HarnessRestartTests
{
    [Fact]
    public async Task Every_provisioned_account_comes_back_with_its_data_and_the_releases_new_migrations()
    {
        var stateRoot = RepositoryPaths.NewStateRoot("restart-accounts");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            var clients = new Dictionary<string, string>();
            await using (var app = await HarnessFixture.StartAsync(stateRoot, accounts: 1, hotReload: false))
            {
                var supervisor = app.Services.GetRequiredService<StackSupervisor>();
                var tokens = app.Services.GetRequiredService<TokenIssuer>();
                var platform = new Uri(supervisor.Find("platform")!.Url!);
                var admin = new PlatformAdminClient(http, PlatformSecrets.LoadOrCreateAdminToken(stateRoot));
                await admin.SignupAsync(platform, "later", "Signed up at run time", CancellationToken.None);
                foreach (var slug in new[] { "account-1", "later" })
                {
                    var stack = HarnessFixture.StackOf(slug);
                    var api = await OwnerApiAsync(http, tokens, supervisor, platform, slug);
                    clients[slug] = await api.CreateIdAsync("clients", new { name = $"Client of {slug}" });
                    // As if the account predated the newest migration: it is applied again at the next start.
                    await supervisor.BatchD1Async(stack, "DB",
                    [
                        ("DROP INDEX audit_events_entity_at", []),
                        ("DROP INDEX audit_events_entity_id_at", []),
                        ("CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, at, id)", []),
                        ("DELETE FROM d1_migrations WHERE name = '0003_audit_trail_order.sql'", []),
                    ], CancellationToken.None);
                }
            }

            await using var again = await HarnessFixture.StartAsync(stateRoot, accounts: 1, hotReload: false);
            var restarted = again.Services.GetRequiredService<StackSupervisor>();
            var againTokens = again.Services.GetRequiredService<TokenIssuer>();
            var againPlatform = new Uri(restarted.Find("platform")!.Url!);
            foreach (var slug in new[] { "account-1", "later" })
            {
                var stack = HarnessFixture.StackOf(slug);
                Assert.Equal(StackState.Running, restarted.Find(stack)?.State);
                var api = await OwnerApiAsync(http, againTokens, restarted, againPlatform, slug);
                Assert.Equal($"Client of {slug}", (await api.GetJsonAsync($"/api/clients/{clients[slug]}")).GetProperty("name").GetString());
                var migrations = await restarted.QueryD1Async(stack, "DB", "SELECT name FROM d1_migrations ORDER BY name", [], CancellationToken.None);
                Assert.Contains("0003_audit_trail_order.sql", migrations.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
                var indexes = await restarted.QueryD1Async(stack, "DB", "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name", [], CancellationToken.None);
                Assert.Equal(["audit_events_at", "audit_events_entity_at", "audit_events_entity_id_at"],
                    indexes.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
            }
        }
        finally
        {
            HarnessFixture.TryDelete(stateRoot);
        }
    }

    private static async Task<AccountApi> OwnerApiAsync(HttpClient http, TokenIssuer tokens, StackSupervisor supervisor, Uri platform, string slug)
    {
        var owner = await new AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(new Uri(supervisor.Find(HarnessFixture.StackOf(slug))!.Url!), slug, CancellationToken.None);
        return new AccountApi(http, platform, slug, tokens.Issue(slug, owner, TimeSpan.FromMinutes(5)));
    }
}
