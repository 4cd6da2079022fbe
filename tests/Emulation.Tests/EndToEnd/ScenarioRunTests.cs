using System.Text.Json;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Scenarios;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Scenarios run for real: traffic through the platform to real account stacks while a step fails
/// one tenant through the chaos API; the report says what users saw. In the disruptive harness (the
/// run clears every chaos setting when it ends).
/// </summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed class ScenarioRunTests(DisruptiveHarnessFixture harness)
{
    [Fact]
    public async Task A_short_scenario_fails_one_tenant_and_reports_the_blast_radius_inside_it()
    {
        var scenario = new Scenario("in-suite", "one tenant's D1 overloaded for 2 s", 2, new ScenarioTraffic(UsersPerAccount: 2, Seconds: 5, ThinkMs: 50, WriteShare: 0.4),
            JsonSerializer.Deserialize<List<ScenarioStep>>("""
                [{ "at": 1, "action": "faults", "body": [{ "stack": "acct-account-1", "service": "d1", "operation": "*", "error": "d1-overloaded-too-many-queued", "probability": 0.5 }] },
                 { "at": 3, "action": "clear" }]
                """, JsonSerializerOptions.Web)!,
            ["othersErrors == 0", "targetErrors > 0", "acknowledgedWritesLost == 0", "readYourWritesViolations == 0", "recoveredWithinSeconds <= 2"]);
        Assert.Null(scenario.Problem());

        var report = await ScenarioCheck.RunnerOf(harness.App.Services).RunAsync(scenario, CancellationToken.None);

        Assert.True(report.Passed, report.ToTable("-", "-"));
        Assert.Equal(["target", "other"], report.Tenants.Select(t => t.Role));
        Assert.All(report.Tenants, t => Assert.True(t.Requests > 20, $"{t.Account} sent {t.Requests} requests"));
        Assert.All(report.Steps, s => Assert.True(s.Ok, s.Message));
        // Put back: no rule is left behind.
        var (_, rules) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/chaos/faults");
        Assert.Empty(rules.GetProperty("result").EnumerateArray());
    }
}

/// <summary>The scenario runner as an architect (or CI) runs it: the real AppHost, headless, with an exit code.</summary>
public sealed class ScenarioCheckProcessTests
{
    [Fact]
    public async Task A_scenario_run_prints_its_table_writes_its_report_and_timeline_and_exits_1_when_an_assertion_fails()
    {
        var stateRoot = RepositoryPaths.NewStateRoot("scenario");
        var file = Path.Combine(stateRoot, "killed.json");
        Directory.CreateDirectory(stateRoot);
        await File.WriteAllTextAsync(file, """
            { "name": "killed", "description": "the only tenant's workerd killed and restarted", "accounts": 1,
              "traffic": { "usersPerAccount": 2, "seconds": 5, "thinkMs": 50 },
              "steps": [{ "at": 1, "action": "kill", "stack": "acct-account-1" }, { "at": 2.5, "action": "restart", "stack": "acct-account-1" }],
              "assertions": ["acknowledgedWritesLost == 0", "targetErrors == 0"] }
            """);
        try
        {
            var (exit, output) = await AppHostProcess.RunAsync("--scenario", file, "--state-root", stateRoot);

            // The kill failed requests: that assertion fails, and so does the run.
            Assert.True(exit == 1, output);
            Assert.Matches(@"acknowledgedWritesLost == 0\s+0 pass", output);
            Assert.Matches(@"targetErrors == 0\s+\d+ FAIL", output);
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(stateRoot, "reports", "scenario-killed.json")));
            Assert.False(report.RootElement.GetProperty("passed").GetBoolean());
            Assert.Equal("kill", report.RootElement.GetProperty("steps")[0].GetProperty("action").GetString());
            var png = await File.ReadAllBytesAsync(Path.Combine(stateRoot, "reports", "scenario-killed.png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            // The scenario's own harness, under the state root, is gone with every process it started.
            Assert.Empty(ProcessTable.FindByStateRoot(Path.Combine(stateRoot, "scenario-runs", "killed")));
        }
        finally
        {
            ProcessTable.KillOrphans(stateRoot);
            HarnessFixture.TryDelete(stateRoot);
        }
    }
}
