using System.Diagnostics;
using System.Net;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Crashes, restarts and reloads stay inside the one stack they happen to.</summary>
[Collection(HarnessCollection.Name)]
public sealed class StackLifecycleTests(HarnessFixture harness)
{
    private AccountApi Account(string name) => new(harness.Http, harness.PlatformUrl, name);

    [Fact]
    public async Task A_killed_workerd_shows_its_stack_failed_with_its_last_log_lines_while_other_stacks_keep_serving()
    {
        var victim = harness.Supervisor.Find("account-2")!;
        var survivorClient = await Account("account-1").CreateClientIdAsync("Survivor");

        using (var process = Process.GetProcessById(victim.ProcessId!.Value))
        {
            process.Kill();
        }
        await harness.WaitForStateAsync("account-2", "Failed");

        var failed = harness.Supervisor.Find("account-2")!;
        Assert.Equal(StackState.Failed, failed.State);
        Assert.Contains("exited", failed.LastError, StringComparison.Ordinal);
        Assert.NotNull(failed.RecentLog);
        Assert.NotEmpty(failed.RecentLog!);

        // The other tenant is untouched: same workerd, still serving through the platform.
        Assert.Equal(StackState.Running, harness.Supervisor.Find("account-1")!.State);
        Assert.Contains(survivorClient, await Account("account-1").ListClientIdsAsync());
        using (var response = await Account("account-2").GetClientAsync("anything"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        var result = await harness.App.ResourceCommands.ExecuteCommandAsync("account-2", "restart-stack");
        Assert.True(result.Success, result.Message);
        await WaitHealthyAsync("account-2");
        Assert.Equal(victim.Url, harness.Supervisor.Find("account-2")!.Url);
    }

    [Fact]
    public async Task Restart_stack_command_keeps_the_stack_s_data_and_url_and_touches_no_other_stack()
    {
        var id = await Account("account-1").CreateClientIdAsync("Kept Across Restart");
        var before = harness.Supervisor.Find("account-1")!;
        var otherPid = harness.Supervisor.Find("account-2")!.ProcessId;
        var platformPid = harness.Supervisor.Find("platform")!.ProcessId;

        var result = await harness.App.ResourceCommands.ExecuteCommandAsync("account-1", "restart-stack");
        Assert.True(result.Success, result.Message);
        await WaitHealthyAsync("account-1");

        var after = harness.Supervisor.Find("account-1")!;
        Assert.NotEqual(before.ProcessId, after.ProcessId);
        Assert.Equal(before.Url, after.Url);
        Assert.Contains(id, await Account("account-1").ListClientIdsAsync());
        Assert.Equal(otherPid, harness.Supervisor.Find("account-2")!.ProcessId);
        Assert.Equal(platformPid, harness.Supervisor.Find("platform")!.ProcessId);
    }

    [Fact]
    public async Task Saving_a_worker_file_reloads_the_account_stacks_and_keeps_their_data()
    {
        var id = await Account("account-1").CreateClientIdAsync("Kept Across Reload");
        var before = harness.Supervisor.Find("account-1")!.ProcessId;
        var platformPid = harness.Supervisor.Find("platform")!.ProcessId;

        // Touch, not edit: the Worker's code stays as committed, the watcher still sees a save.
        File.SetLastWriteTimeUtc(Path.Combine(RepositoryPaths.Workers, "account", "src", "env.ts"), DateTime.UtcNow);

        var stopwatch = Stopwatch.StartNew();
        while (harness.Supervisor.Find("account-1")!.ProcessId == before || harness.Supervisor.Find("account-1")!.State != StackState.Running)
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), "account-1 was not reloaded within 20 s of the save");
            await Task.Delay(100);
        }
        Assert.Contains(id, await Account("account-1").ListClientIdsAsync());
        // Only stacks running the account Worker reload.
        Assert.Equal(platformPid, harness.Supervisor.Find("platform")!.ProcessId);
    }

    private async Task WaitHealthyAsync(string name)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (harness.Supervisor.Find(name)?.State != StackState.Running)
        {
            await Task.Delay(100, cts.Token);
        }
        await harness.App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
    }
}
