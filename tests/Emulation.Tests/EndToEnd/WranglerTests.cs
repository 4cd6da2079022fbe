using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Cloudflare's own CLI, wrangler (pinned in workers/package.json), pointed at the local API as the
/// README's "Use your own tools" says: the commands a developer tries first answer as at Cloudflare.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class WranglerTests(HarnessFixture harness)
{
    private async Task<string> WranglerAsync(params string[] arguments)
    {
        var node = NodeToolchain.PinnedNode(RepositoryPaths.Workers);
        var home = Directory.CreateTempSubdirectory("wrangler-home-").FullName;
        try
        {
            var result = await Cli.Wrap(File.Exists(node) ? node : "node")
                .WithArguments([Path.Combine(RepositoryPaths.Workers, "node_modules", "wrangler", "bin", "wrangler.js"), .. arguments])
                .WithWorkingDirectory(home)
                .WithEnvironmentVariables(new Dictionary<string, string?>
                {
                    ["CLOUDFLARE_API_BASE_URL"] = harness.ControlPlane.BaseUrl.ToString().TrimEnd('/'),
                    ["CLOUDFLARE_API_TOKEN"] = harness.ControlPlane.ApiToken,
                    ["CLOUDFLARE_ACCOUNT_ID"] = harness.ControlPlane.AccountId,
                    // Offline and quiet: no metrics, no update check, no colour, no prompts.
                    ["WRANGLER_SEND_METRICS"] = "false",
                    ["WRANGLER_HIDE_BANNER"] = "true",
                    ["XDG_CONFIG_HOME"] = home,
                    ["CI"] = "true",
                    ["NO_COLOR"] = "1",
                })
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
            Assert.True(result.ExitCode == 0, $"wrangler {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}");
            return result.StandardOutput;
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>The JSON wrangler prints (after any lines of its own before it).</summary>
    private static JsonElement Json(string output) => JsonDocument.Parse(output[output.IndexOfAny(['[', '{'])..]).RootElement;

    [Fact]
    public async Task Kv_namespace_list_pages_to_the_end_and_lists_the_accounts_namespaces()
    {
        var namespaces = Json(await WranglerAsync("kv", "namespace", "list"));

        Assert.Contains(namespaces.EnumerateArray(), n => n.GetProperty("title").GetString() == $"{HarnessFixture.StackOf("account-1")}-cache");
    }

    [Fact]
    public async Task D1_create_and_execute_remote_work_on_a_database_no_Worker_binds()
    {
        var name = $"wrangler-{Guid.NewGuid():N}"[..24];
        await WranglerAsync("d1", "create", name, "--jurisdiction", "eu");
        try
        {
            var rows = Json(await WranglerAsync("d1", "execute", name, "--remote", "--json",
                "--command", "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('from wrangler'); SELECT v FROM t"));
            Assert.Equal("from wrangler", rows.EnumerateArray().Last().GetProperty("results")[0].GetProperty("v").GetString());

            // The account's own database, found by name as wrangler finds it.
            var users = Json(await WranglerAsync("d1", "execute", HarnessFixture.StackOf("account-1"), "--remote", "--json", "--command", "SELECT count(*) AS n FROM users"));
            Assert.True(users[0].GetProperty("results")[0].GetProperty("n").GetInt32() >= 1);
        }
        finally
        {
            var id = (await harness.CloudflareAsync(HttpMethod.Get, $"accounts/{harness.ControlPlane.AccountId}/d1/database/{name}")).Envelope
                .GetProperty("result").GetProperty("uuid").GetString();
            await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/d1/database/{id}");
        }
    }
}
