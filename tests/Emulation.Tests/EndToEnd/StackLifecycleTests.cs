using System.Diagnostics;
using System.Net;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Crashes, restarts and reloads stay inside the one stack they happen to.</summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed class StackLifecycleTests(DisruptiveHarnessFixture harness)
{
    private AccountApi Account(string name) => harness.AsOwner(name);

    [Fact]
    public async Task A_killed_workerd_shows_its_stack_failed_with_its_last_log_lines_while_other_stacks_keep_serving()
    {
        var victim = harness.Supervisor.Find(HarnessFixture.StackOf("account-2"))!;
        var survivorClient = await Account("account-1").CreateIdAsync("clients", new { name = "Survivor" });
        // The stack's last act before it dies: a request its log records, by a path no one else uses.
        var marker = $"/last-words-{Guid.NewGuid():N}";
        var logged = new TaskCompletionSource();
        void Watch(StackLogLine line)
        {
            if (line.Stack == victim.Name && line.Line.Contains(marker, StringComparison.Ordinal))
            {
                logged.TrySetResult();
            }
        }
        harness.Supervisor.LogReceived += Watch;
        try
        {
            using (var last = await harness.Http.GetAsync(new Uri(new Uri(victim.Url!), marker)))
            {
                // Any path outside /api and /platform is the web app's, which wants a signed-in user.
                Assert.Equal(HttpStatusCode.Unauthorized, last.StatusCode);
            }
            await logged.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            harness.Supervisor.LogReceived -= Watch;
        }

        using (var process = Process.GetProcessById(victim.ProcessId!.Value))
        {
            process.Kill();
        }
        // A crash: Aspire's own Exited (an error), so its waits see it.
        await harness.WaitForStateAsync("account-2", KnownResourceStates.Exited);

        var failed = harness.Supervisor.Find(HarnessFixture.StackOf("account-2"))!;
        Assert.Equal(StackState.Failed, failed.State);
        Assert.Contains("exited", failed.LastError, StringComparison.Ordinal);
        Assert.Contains(failed.RecentLog!, line => line.Contains(marker, StringComparison.Ordinal));

        // The other tenant is untouched: same workerd, still serving through the platform.
        Assert.Equal(StackState.Running, harness.Supervisor.Find(HarnessFixture.StackOf("account-1"))!.State);
        Assert.Contains(survivorClient, await Account("account-1").ListIdsAsync("clients", "limit=100"));
        using (var response = await Account("account-2").SendAsync(HttpMethod.Get, "/api/clients"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }

        var result = await harness.App.ResourceCommands.ExecuteCommandAsync("account-2", "restart-stack");
        Assert.True(result.Success, result.Message);
        await WaitHealthyAsync("account-2");
        Assert.Equal(victim.Url, harness.Supervisor.Find(HarnessFixture.StackOf("account-2"))!.Url);
    }

    [Fact]
    public async Task Restart_stack_command_keeps_the_stack_s_data_and_url_and_touches_no_other_stack()
    {
        var id = await Account("account-1").CreateIdAsync("clients", new { name = "Kept Across Restart" });
        var before = harness.Supervisor.Find(HarnessFixture.StackOf("account-1"))!;
        var otherPid = harness.Supervisor.Find(HarnessFixture.StackOf("account-2"))!.ProcessId;
        var platformPid = harness.Supervisor.Find("platform")!.ProcessId;

        var result = await harness.App.ResourceCommands.ExecuteCommandAsync("account-1", "restart-stack");
        Assert.True(result.Success, result.Message);
        await WaitHealthyAsync("account-1");

        var after = harness.Supervisor.Find(HarnessFixture.StackOf("account-1"))!;
        Assert.NotEqual(before.ProcessId, after.ProcessId);
        Assert.Equal(before.Url, after.Url);
        Assert.Contains(id, await Account("account-1").ListIdsAsync("clients", "limit=100"));
        Assert.Equal(otherPid, harness.Supervisor.Find(HarnessFixture.StackOf("account-2"))!.ProcessId);
        Assert.Equal(platformPid, harness.Supervisor.Find("platform")!.ProcessId);
    }

    [Fact]
    public async Task Saving_a_worker_file_reloads_the_account_stacks_and_keeps_their_data_and_their_requests()
    {
        var id = await Account("account-1").CreateIdAsync("clients", new { name = "Kept Across Reload" });
        var before = HarnessFixture.Accounts.ToDictionary(a => a, a => harness.Supervisor.Find(HarnessFixture.StackOf(a))!.ProcessId);
        var platformPid = harness.Supervisor.Find("platform")!.ProcessId;
        // Clients of account-1 keep calling through the platform while the new release rolls out.
        using var stop = new CancellationTokenSource();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        async Task TrafficAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await Account("account-1").SendAsync(HttpMethod.Get, "/api/clients?limit=1");
                statuses.Add(response.StatusCode);
            }
        }
        var traffic = Enumerable.Range(0, 3).Select(_ => TrafficAsync()).ToArray();

        // Touch, not edit: the Worker's code stays as committed, the watcher still sees a save.
        File.SetLastWriteTimeUtc(Path.Combine(RepositoryPaths.Workers, "account", "src", "env.ts"), DateTime.UtcNow);

        // Every stack running the account Worker reloads (a new workerd), and is running again.
        var stopwatch = Stopwatch.StartNew();
        while (HarnessFixture.Accounts.Any(a => harness.Supervisor.Find(HarnessFixture.StackOf(a)) is var s && (s!.ProcessId == before[a] || s.State != StackState.Running)))
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), "the account stacks were not reloaded within 20 s of the save");
            await Task.Delay(100);
        }
        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(traffic);
        Assert.True(statuses.Count >= 10, $"only {statuses.Count} requests were sent");
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s)); // a rollout loses no request
        Assert.Contains(id, await Account("account-1").ListIdsAsync("clients", "limit=100"));
        // Only stacks running the account Worker reload.
        Assert.Equal(platformPid, harness.Supervisor.Find("platform")!.ProcessId);
    }

    [Fact]
    public async Task Saving_a_platform_file_reloads_the_platform_alone_and_it_keeps_its_accounts()
    {
        var client = await Account("account-1").CreateIdAsync("clients", new { name = "Routed across a platform reload" });
        var before = harness.Supervisor.Find("platform")!.ProcessId;
        var accounts = HarnessFixture.Accounts.ToDictionary(a => a, a => harness.Supervisor.Find(HarnessFixture.StackOf(a))!.ProcessId);

        // Touch, not edit: the Worker's code stays as committed, the watcher still sees a save.
        File.SetLastWriteTimeUtc(Path.Combine(RepositoryPaths.Workers, "platform", "src", "env.ts"), DateTime.UtcNow);

        var stopwatch = Stopwatch.StartNew();
        while (harness.Supervisor.Find("platform") is var p && (p!.ProcessId == before || p.State != StackState.Running))
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), "the platform was not reloaded within 20 s of the save");
            await Task.Delay(100);
        }
        // It still knows and routes its accounts (its D1 kept), and they were not touched.
        Assert.Equal(client, (await Account("account-1").GetJsonAsync($"/api/clients/{client}")).GetProperty("id").GetString());
        Assert.All(HarnessFixture.Accounts, a => Assert.Equal(accounts[a], harness.Supervisor.Find(HarnessFixture.StackOf(a))!.ProcessId));
    }

    [Fact]
    public async Task Dashboard_commands_issue_a_working_owner_token_and_seed_demo_data()
    {
        var token = await harness.App.ResourceCommands.ExecuteCommandAsync("account-2", "issue-owner-token");
        Assert.True(token.Success, token.Message);
        var jwt = token.Message!.Split(": ").Last();
        // 12 hours, as the README says (the longest a user token may live).
        var claims = System.Text.Json.JsonDocument.Parse(Convert.FromBase64String(Base64(jwt.Split('.')[1]))).RootElement;
        Assert.Equal(12 * 3600, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        var asOwner = harness.AsOwner("account-2").WithToken(jwt);
        var before = (await asOwner.ListAllIdsAsync("clients")).Count;

        var seeded = await harness.App.ResourceCommands.ExecuteCommandAsync("account-2", "seed-demo-data");
        Assert.True(seeded.Success, seeded.Message);
        Assert.Equal(before + 200, (await asOwner.ListAllIdsAsync("clients")).Count);
    }

    [Fact]
    public async Task Provision_account_command_adds_a_running_tenant_row_and_delete_account_removes_it()
    {
        var provisioned = await harness.App.ResourceCommands.ExecuteCommandAsync("cloudflare", "provision-account");
        Assert.True(provisioned.Success, provisioned.Message);
        var slug = provisioned.Message!.Split(' ')[1];
        var stack = HarnessFixture.StackOf(slug);
        Assert.Equal(StackState.Running, harness.Supervisor.Find(stack)!.State);
        // Its row is named after the account, as the AppHost's are; its script is a property.
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await harness.App.ResourceNotifications.WaitForResourceAsync(slug, e => e.Snapshot.State?.Text == KnownResourceStates.Running
                && e.Snapshot.Properties.Any(p => p.Name == "stack.script" && (p.Value as string) == stack), cts.Token);
        }

        var deleted = await harness.App.ResourceCommands.ExecuteCommandAsync(slug, "delete-account");
        Assert.True(deleted.Success, deleted.Message);
        Assert.Equal(StackState.Stopped, harness.Supervisor.Find(stack)!.State);
    }

    [Fact]
    public async Task An_account_signed_up_at_run_time_comes_back_from_its_rows_restart_and_from_resuming_its_provisioning()
    {
        var provisioned = await harness.App.ResourceCommands.ExecuteCommandAsync("cloudflare", "provision-account");
        Assert.True(provisioned.Success, provisioned.Message);
        var slug = provisioned.Message!.Split(' ')[1];
        var stack = HarnessFixture.StackOf(slug);
        try
        {
            var url = harness.Supervisor.Find(stack)!.Url;
            var owner = await new Cloudflare.Emulation.Platform.AccountOwnerBootstrap(harness.Http, harness.Tokens)
                .EnsureOwnerAsync(new Uri(url!), slug, CancellationToken.None);
            var api = new AccountApi(harness.Http, harness.PlatformUrl, slug, harness.Tokens.Issue(slug, owner, TimeSpan.FromMinutes(10)));
            var client = await api.CreateIdAsync("clients", new { name = "Outlives two crashes" });
            // Its row sits under the emulator's, like the AppHost's accounts.
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                await harness.App.ResourceNotifications.WaitForResourceAsync(slug,
                    e => e.Snapshot.Properties.Any(p => p.Name == "resource.parentName" && (p.Value as string) == "cloudflare"), cts.Token);
            }

            // 1. Killed, then "Restart stack" on its row: back on the same URL with its data.
            await KillAsync(stack, slug);
            var restarted = await harness.App.ResourceCommands.ExecuteCommandAsync(slug, "restart-stack");
            Assert.True(restarted.Success, restarted.Message);
            Assert.Equal(StackState.Running, harness.Supervisor.Find(stack)!.State);
            Assert.Equal(url, harness.Supervisor.Find(stack)!.Url);
            Assert.Contains(client, await api.ListIdsAsync("clients", "limit=10"));

            // 2. Killed, then the platform's "resume provisioning": the account is active but its Worker
            //    does not answer, so it is deployed again — data and URL kept.
            await KillAsync(stack, slug);
            using (var resumed = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{slug}/provision"))
            {
                Assert.Equal("active", (await AccountApi.ReadAsync(resumed, HttpStatusCode.OK)).GetProperty("status").GetString());
            }
            var back = harness.Supervisor.Find(stack)!;
            Assert.Equal(StackState.Running, back.State);
            Assert.Equal(url, back.Url);
            Assert.Contains(client, await api.ListIdsAsync("clients", "limit=10"));

            // 3. Resuming an account whose Worker answers changes nothing.
            using (var again = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{slug}/provision"))
            {
                Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            }
            Assert.Equal(back.ProcessId, harness.Supervisor.Find(stack)!.ProcessId);
        }
        finally
        {
            var deleted = await harness.App.ResourceCommands.ExecuteCommandAsync(slug, "delete-account");
            Assert.True(deleted.Success, deleted.Message);
        }
    }

    private static string Base64(string base64Url)
    {
        var text = base64Url.Replace('-', '+').Replace('_', '/');
        return text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
    }

    /// <summary>Kills a stack's workerd and waits until its row shows it exited.</summary>
    private async Task KillAsync(string stack, string row)
    {
        using (var process = Process.GetProcessById(harness.Supervisor.Find(stack)!.ProcessId!.Value))
        {
            process.Kill();
        }
        await harness.WaitForStateAsync(row, KnownResourceStates.Exited);
    }

    private async Task WaitHealthyAsync(string name)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (harness.Supervisor.Find(HarnessFixture.StackOf(name))?.State != StackState.Running)
        {
            await Task.Delay(100, cts.Token);
        }
        await harness.App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
    }
}
