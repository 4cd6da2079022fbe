using System.Text.Json;
using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>The residency check as CI runs it: the real AppHost, headless, with an exit code.</summary>
public sealed class ResidencyCheckProcessTests
{
    [Fact]
    public async Task A_compliant_harness_exits_0_with_the_table_and_the_JSON()
    {
        var stateRoot = RepositoryPaths.NewStateRoot("residency");
        var report = Path.Combine(stateRoot, "report.json");
        try
        {
            var (exit, output) = await AppHostProcess.RunAsync("--accounts", "1", "--state-root", stateRoot, "--hot-reload", "false", "--residency-report", report);
            Assert.True(exit == 0, output);
            Assert.Contains("No violations.", output, StringComparison.Ordinal);
            Assert.Contains("| acct-account-1 | Running | account-1.localhost (gb) | DB: eu |", output, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            Assert.True(json.RootElement.GetProperty("compliant").GetBoolean());
            Assert.Empty(ProcessTable.FindByStateRoot(stateRoot));
        }
        finally
        {
            ProcessTable.KillOrphans(stateRoot);
            HarnessFixture.TryDelete(stateRoot);
        }
    }

    [Fact]
    public async Task A_bad_residency_policy_stops_the_start_naming_the_setting()
    {
        var stateRoot = RepositoryPaths.NewStateRoot("residency-bad");
        try
        {
            var (exit, output) = await AppHostProcess.RunAsync("--state-root", stateRoot, "--Harness:Residency:UserCountries:0=United Kingdom", "--residency-report", "true");
            Assert.Equal(2, exit);
            Assert.Contains("Harness:Residency:UserCountries", output, StringComparison.Ordinal);
        }
        finally
        {
            HarnessFixture.TryDelete(stateRoot);
        }
    }
}
