using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Emulation.Tests.EndToEnd;

/// <summary>Everything created through the control plane comes back, with its data, after the harness restarts.</summary>
public sealed class ControlPlaneRestartTests
{
    [Fact]
    public async Task Deployed_scripts_and_their_data_survive_a_restart_of_the_harness()
    {
        var stateRoot = RepositoryPaths.NewStateRoot("restart");
        using var http = new HttpClient();
        try
        {
            var app = await HarnessFixture.StartAsync(stateRoot, accounts: 0, hotReload: false);
            await using (app)
            {
                var server = app.Services.GetRequiredService<ControlPlaneHandle>().Server!;
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.ApiToken);
                var account = new Uri(server.BaseUrl, $"accounts/{server.AccountId}/");
                var created = await (await http.PostAsJsonAsync(new Uri(account, "d1/database"), new { name = "kept", jurisdiction = "eu" })).Content.ReadFromJsonAsync<JsonElement>();
                var db = created.GetProperty("result").GetProperty("uuid").GetString()!;

                using var form = new MultipartFormDataContent
                {
                    { new StringContent(JsonSerializer.Serialize(new { main_module = "index.js", compatibility_date = "2026-07-01", bindings = new[] { new { type = "d1", name = "DB", id = db } } })), "metadata" },
                    { new StringContent("export default { async fetch(r, env) { return Response.json(await env.DB.prepare('SELECT v FROM t').first()); } };"), "index.js", "index.js" },
                };
                // A script deployed first, whose stored code will not start next time: its restore fails
                // before the survivor's.
                using var broken = new MultipartFormDataContent
                {
                    { new StringContent(JsonSerializer.Serialize(new { main_module = "index.js", compatibility_date = "2026-07-01", bindings = Array.Empty<object>() })), "metadata" },
                    { new StringContent("export default { fetch() { return new Response('ok'); } };"), "index.js", "index.js" },
                };
                (await http.PutAsync(new Uri(account, "workers/scripts/a-broken-one"), broken)).EnsureSuccessStatusCode();
                await File.WriteAllTextAsync(server.Store.ScriptPath("a-broken-one"), "export default { this is not JavaScript");
                (await http.PutAsync(new Uri(account, "workers/scripts/survivor"), form)).EnsureSuccessStatusCode();

                (await http.PostAsJsonAsync(new Uri(account, $"d1/database/{db}/query"), new { sql = "CREATE TABLE t (v TEXT);\nINSERT INTO t VALUES ('still here');" })).EnsureSuccessStatusCode();
            }

            await using var again = await HarnessFixture.StartAsync(stateRoot, accounts: 0, hotReload: false);
            // Scripts are restored right after the platform starts; give the restore a moment.
            var supervisor = again.Services.GetRequiredService<StackSupervisor>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (supervisor.Find("survivor")?.State != StackState.Running && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
            var restored = supervisor.Find("survivor");
            Assert.Equal(StackState.Running, restored?.State);
            // The script that could not start did not stop the others; its row says why.
            var failed = supervisor.Find("a-broken-one");
            Assert.Equal(StackState.Failed, failed?.State);
            Assert.False(string.IsNullOrEmpty(failed!.LastError));
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                await again.ResourceNotifications.WaitForResourceAsync("a-broken-one", e => e.Snapshot.State?.Text == KnownResourceStates.FailedToStart
                    && e.Snapshot.Properties.Any(p => p.Name == "stack.lastError" && !string.IsNullOrEmpty(p.Value as string)), cts.Token);
            }
            var answer = await http.GetFromJsonAsync<JsonElement>(restored!.Url);
            Assert.Equal("still here", answer.GetProperty("v").GetString());

            // A restored script gets a dashboard row of its own, and is not mistaken for one of the
            // AppHost's accounts (which would sign up a bogus account "survivor" → script acct-survivor).
            var store = again.Services.GetRequiredService<ControlPlaneHandle>().Server!.Store;
            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(["a-broken-one", "survivor"], store.Snapshot.Scripts.Select(s => s.Name).Order());
                await Task.Delay(250);
            }
        }
        finally
        {
            HarnessFixture.TryDelete(stateRoot);
        }
    }
}
