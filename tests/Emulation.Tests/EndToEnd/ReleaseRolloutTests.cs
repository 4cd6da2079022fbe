using System.Net;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// A release's migrations rolled out by the platform to every account while one account's D1 fails:
/// the others take it, the failed one keeps serving on its schema with the failure on its row, and a
/// resume completes it — never half a migration. Changes the platform's release: disruptive harness.
/// </summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed class ReleaseRolloutTests(DisruptiveHarnessFixture harness)
{
    [Fact]
    public async Task A_migration_failing_on_one_account_stops_only_that_account_visibly_and_a_resume_completes_it()
    {
        var migration = $"0900_rollout_{Guid.NewGuid():N}.sql"[..24] + ".sql";
        var table = "rollout_probe_" + Guid.NewGuid().ToString("N")[..8];
        using (var content = new StringContent($"CREATE TABLE {table} (id TEXT PRIMARY KEY);"))
        {
            using var published = await harness.Supervisor.SendToControlAsync("platform", HttpMethod.Put,
                $"r2/RELEASES/objects/{Uri.EscapeDataString("account/migrations/" + migration)}", content, CancellationToken.None);
            Assert.True(published.IsSuccessStatusCode, await published.Content.ReadAsStringAsync());
        }
        var failing = HarnessFixture.StackOf("account-2");
        await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", new[] { new { stack = failing, service = "d1", operation = "batch", error = "d1-storage-timeout" } });
        try
        {
            using (var rollout = await harness.AdminAsync(HttpMethod.Post, "/admin/releases/rollout"))
            {
                var body = JsonDocument.Parse(await rollout.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal(HttpStatusCode.BadGateway, rollout.StatusCode);
                Assert.Equal("account-2", Assert.Single(body.GetProperty("failed").EnumerateArray()).GetProperty("slug").GetString());
                Assert.Contains("account-1", body.GetProperty("migrated").EnumerateArray().Select(s => s.GetString()));
            }
            using (var row = await harness.AdminAsync(HttpMethod.Get, "/admin/accounts/account-2"))
            {
                var account = JsonDocument.Parse(await row.Content.ReadAsStringAsync()).RootElement;
                Assert.StartsWith($"{migration}: ", account.GetProperty("release").GetProperty("error").GetString());
            }
            Assert.False(await HasAsync(failing, table, migration));
            Assert.True(await HasAsync(HarnessFixture.StackOf("account-1"), table, migration));
            // Still serving its users on the schema it has.
            using (var clients = await harness.AsOwner("account-2").SendAsync(HttpMethod.Get, "/api/clients?limit=1"))
            {
                Assert.Equal(HttpStatusCode.OK, clients.StatusCode);
            }
            using (var refused = await harness.AdminAsync(HttpMethod.Post, "/admin/accounts/account-2/provision"))
            {
                Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
                Assert.Equal("migration_failed", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
            }
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", Array.Empty<object>());
        }

        using (var resumed = await harness.AdminAsync(HttpMethod.Post, "/admin/accounts/account-2/provision"))
        {
            var account = JsonDocument.Parse(await resumed.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
            Assert.False(account.GetProperty("release").TryGetProperty("error", out _));
        }
        Assert.True(await HasAsync(failing, table, migration));
    }

    /// <summary>Whether the account's D1 has the migration's table and its record — asserting it never has one without the other.</summary>
    private async Task<bool> HasAsync(string stack, string table, string migration)
    {
        var row = (await harness.Supervisor.QueryD1Async(stack, "DB",
            "SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?) AS tables, (SELECT count(*) FROM d1_migrations WHERE name = ?) AS records",
            [table, migration], CancellationToken.None)).GetProperty("results")[0];
        Assert.Equal(row.GetProperty("tables").GetInt32(), row.GetProperty("records").GetInt32());
        return row.GetProperty("tables").GetInt32() == 1;
    }
}
