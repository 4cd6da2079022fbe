using System.Net;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Machine failures on demand (<c>/__emulator/stacks/&lt;name&gt;/…</c>): a paused stack's requests hang
/// until it is resumed, a killed one fails until it is restarted — and no other tenant notices.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class StackControlTests(HarnessFixture harness) : IAsyncLifetime
{
    private readonly string _script = $"ctl-{Guid.NewGuid():N}"[..20];

    public async Task InitializeAsync()
    {
        var (status, envelope) = await harness.UploadScriptAsync(_script, "export default { fetch() { return new Response('up'); } };", []);
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
    }

    public async Task DisposeAsync()
    {
        await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{_script}/resume");
        await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/workers/scripts/{_script}");
    }

    private Task<(HttpStatusCode Status, System.Text.Json.JsonElement Envelope)> ControlAsync(string action, string? stack = null) =>
        harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{stack ?? _script}/{action}");

    /// <summary>The stack's answer, or null when none came within the time.</summary>
    private async Task<string?> AskAsync(string url, TimeSpan within)
    {
        using var http = new HttpClient { Timeout = within };
        try
        {
            return await http.GetStringAsync(url);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private async Task OthersStillServeAsync()
    {
        using var clients = await harness.AsOwner("account-1").SendAsync(HttpMethod.Get, "/api/clients");
        Assert.Equal(HttpStatusCode.OK, clients.StatusCode);
    }

    [Fact]
    public async Task A_paused_stack_hangs_until_resumed_and_a_killed_one_fails_until_restarted()
    {
        var url = harness.Supervisor.Find(_script)!.Url!;

        var (paused, envelope) = await ControlAsync("pause");
        Assert.Equal(HttpStatusCode.OK, paused);
        Assert.True(envelope.GetProperty("result").GetProperty("paused").GetBoolean());
        var waiting = AskAsync(url, TimeSpan.FromSeconds(20));
        Assert.Null(await AskAsync(url, TimeSpan.FromSeconds(1)));
        await OthersStillServeAsync();
        Assert.Equal(HttpStatusCode.OK, (await ControlAsync("resume")).Status);
        // The request that waited through the pause is answered once the stack continues.
        Assert.Equal("up", await waiting);

        var (killed, after) = await ControlAsync("kill");
        Assert.Equal(HttpStatusCode.OK, killed);
        Assert.True(after.GetProperty("result").GetProperty("crashed").GetBoolean());
        Assert.Null(await AskAsync(url, TimeSpan.FromSeconds(2)));
        await OthersStillServeAsync();
        // A crashed stack cannot be paused: said plainly.
        Assert.Equal(HttpStatusCode.Conflict, (await ControlAsync("pause")).Status);

        Assert.Equal(HttpStatusCode.OK, (await ControlAsync("restart")).Status);
        Assert.Equal("up", await AskAsync(harness.Supervisor.Find(_script)!.Url!, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_deleted_scripts_stack_cannot_be_brought_back_by_a_restart()
    {
        var gone = $"gone-{Guid.NewGuid():N}"[..20];
        await harness.UploadScriptAsync(gone, "export default { fetch() { return new Response('back'); } };", []);
        await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/workers/scripts/{gone}");

        var (status, envelope) = await ControlAsync("restart", stack: gone);

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("stopped", envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Stopped, harness.Supervisor.Find(gone)!.State);
    }

    [Fact]
    public async Task An_unknown_action_or_stack_is_refused_naming_it()
    {
        var (status, envelope) = await ControlAsync("explode");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("action", envelope.GetProperty("errors")[0].GetProperty("message").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await ControlAsync("kill", stack: "no-such-stack")).Status);
        Assert.Equal("up", await AskAsync(harness.Supervisor.Find(_script)!.Url!, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task With_telemetry_off_a_stack_s_recording_cannot_be_started_and_says_why()
    {
        // This harness exports nothing: no dashboard, no endpoint given.
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, $"/__emulator/stacks/{_script}/telemetry", new { recording = true });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("telemetry is off in this harness", envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        (status, envelope) = await harness.CloudflareAsync(HttpMethod.Get, $"/__emulator/stacks/{_script}/telemetry");
        Assert.True(status == HttpStatusCode.OK && !envelope.GetProperty("result").GetProperty("traced").GetBoolean(), envelope.ToString());
    }

    [Fact]
    public async Task A_partitioned_account_is_cut_off_from_the_platform_only_until_healed()
    {
        var cut = HarnessFixture.StackOf("account-2");
        var (status, envelope) = await ControlAsync("partition", stack: cut);
        Assert.Equal(HttpStatusCode.OK, status);
        try
        {
            Assert.True(envelope.GetProperty("result").GetProperty("partitioned").GetBoolean());
            // Through the platform (its call to the account's Worker crosses the cut route): no answer.
            using (var through = await harness.AsOwner("account-2").SendAsync(HttpMethod.Get, "/api/clients"))
            {
                Assert.Equal(HttpStatusCode.BadGateway, through.StatusCode);
                Assert.Contains("Network connection lost.", await through.Content.ReadAsStringAsync());
            }
            // The other tenant, through the same platform, is untouched; the cut stack itself still runs.
            await OthersStillServeAsync();
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find(cut)!.State);
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await ControlAsync("heal", stack: cut)).Status);
        }
        using var healed = await harness.AsOwner("account-2").SendAsync(HttpMethod.Get, "/api/clients");
        Assert.Equal(HttpStatusCode.OK, healed.StatusCode);
    }
}
