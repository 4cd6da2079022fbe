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
    private Task<string> WranglerAsync(params string[] arguments) => WranglerInAsync(null, null, arguments);

    /// <summary>Runs wrangler in <paramref name="project"/> (a fresh folder when null), with <paramref name="input"/> on stdin; asserts it succeeded.</summary>
    private async Task<string> WranglerInAsync(string? project, string? input, params string[] arguments)
    {
        var result = await RunWranglerAsync(project, input, arguments);
        Assert.True(result.ExitCode == 0, $"wrangler {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}");
        return result.StandardOutput;
    }

    private async Task<BufferedCommandResult> RunWranglerAsync(string? project, string? input, params string[] arguments)
    {
        var node = NodeToolchain.PinnedNode(RepositoryPaths.Workers);
        var home = Directory.CreateTempSubdirectory("wrangler-home-").FullName;
        try
        {
            return await Cli.Wrap(File.Exists(node) ? node : "node")
                .WithArguments([Path.Combine(RepositoryPaths.Workers, "node_modules", "wrangler", "bin", "wrangler.js"), .. arguments])
                .WithWorkingDirectory(project ?? home)
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
                .WithStandardInputPipe(input is null ? PipeSource.Null : PipeSource.FromString(input))
                .WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
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

    [Fact]
    public async Task Kv_keys_are_put_read_listed_and_deleted_in_a_namespace_no_Worker_binds()
    {
        var id = (await harness.CloudflareAsync(HttpMethod.Post, $"accounts/{harness.ControlPlane.AccountId}/storage/kv/namespaces",
            new { title = $"wrangler-kv-{Guid.NewGuid():N}" })).Envelope.GetProperty("result").GetProperty("id").GetString()!;
        var folder = Directory.CreateTempSubdirectory("wrangler-kv-").FullName;
        try
        {
            // A key with characters a URL changes ('/', '+', a space): the route takes it as the client encoded it.
            await WranglerAsync("kv", "key", "put", "--namespace-id", id, "--remote", "docs/a+b c", "first value");
            await WranglerAsync("kv", "key", "put", "--namespace-id", id, "--remote", "tagged", "v", "--metadata", "{\"owner\":\"acme\"}");
            var bulk = Path.Combine(folder, "bulk.json");
            await File.WriteAllTextAsync(bulk, "[{\"key\":\"bulk-1\",\"value\":\"one\"},{\"key\":\"bulk-2\",\"value\":\"dHdv\",\"base64\":true}]");
            await WranglerAsync("kv", "bulk", "put", bulk, "--namespace-id", id, "--remote");

            Assert.Equal("first value", (await WranglerAsync("kv", "key", "get", "--namespace-id", id, "--remote", "docs/a+b c")).Trim());
            Assert.Equal("two", (await WranglerAsync("kv", "key", "get", "--namespace-id", id, "--remote", "bulk-2")).Trim());
            var keys = Json(await WranglerAsync("kv", "key", "list", "--namespace-id", id, "--remote")).EnumerateArray().ToList();
            Assert.Equal(["bulk-1", "bulk-2", "docs/a+b c", "tagged"], keys.Select(k => k.GetProperty("name").GetString()));
            Assert.Equal("acme", keys.Single(k => k.GetProperty("name").GetString() == "tagged").GetProperty("metadata").GetProperty("owner").GetString());
            var prefixed = Json(await WranglerAsync("kv", "key", "list", "--namespace-id", id, "--remote", "--prefix", "bulk-"));
            Assert.Equal(2, prefixed.GetArrayLength());

            await WranglerAsync("kv", "key", "delete", "--namespace-id", id, "--remote", "docs/a+b c");
            var gone = await RunWranglerAsync(null, null, "kv", "key", "get", "--namespace-id", id, "--remote", "docs/a+b c");
            Assert.NotEqual(0, gone.ExitCode);
            Assert.Contains("404", gone.StandardOutput + gone.StandardError);
            var keysFile = Path.Combine(folder, "keys.json");
            await File.WriteAllTextAsync(keysFile, "[\"bulk-1\",\"bulk-2\"]");
            await WranglerAsync("kv", "bulk", "delete", keysFile, "--namespace-id", id, "--remote", "--force");
            Assert.Equal(["tagged"], Json(await WranglerAsync("kv", "key", "list", "--namespace-id", id, "--remote")).EnumerateArray().Select(k => k.GetProperty("name").GetString()));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/storage/kv/namespaces/{id}");
        }
    }

    [Fact]
    public async Task R2_objects_are_put_read_and_deleted_in_their_jurisdiction_only()
    {
        var bucket = $"wrangler-r2-{Guid.NewGuid():N}"[..28];
        await harness.CloudflareAsync(HttpMethod.Post, $"accounts/{harness.ControlPlane.AccountId}/r2/buckets", new { name = bucket }, jurisdiction: "eu");
        var folder = Directory.CreateTempSubdirectory("wrangler-r2-").FullName;
        try
        {
            var file = Path.Combine(folder, "letter.txt");
            await File.WriteAllTextAsync(file, "Dear client, your case is open.");
            await WranglerAsync("r2", "object", "put", $"{bucket}/cases/1/letter (final).txt", "--file", file, "--remote", "-J", "eu", "--content-type", "text/plain");

            Assert.Equal("Dear client, your case is open.", await WranglerAsync("r2", "object", "get", $"{bucket}/cases/1/letter (final).txt", "--pipe", "--remote", "-J", "eu"));
            // Without the jurisdiction the bucket is another (absent) one, as at Cloudflare.
            var elsewhere = await RunWranglerAsync(null, null, "r2", "object", "get", $"{bucket}/cases/1/letter (final).txt", "--pipe", "--remote");
            Assert.NotEqual(0, elsewhere.ExitCode);

            await WranglerAsync("r2", "object", "delete", $"{bucket}/cases/1/letter (final).txt", "--remote", "-J", "eu");
            var gone = await RunWranglerAsync(null, null, "r2", "object", "get", $"{bucket}/cases/1/letter (final).txt", "--pipe", "--remote", "-J", "eu");
            Assert.NotEqual(0, gone.ExitCode);
            Assert.Contains("does not exist", gone.StandardOutput + gone.StandardError);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/r2/buckets/{bucket}");
        }
    }

    [Fact]
    public async Task D1_execute_file_imports_and_export_writes_the_databases_own_sql()
    {
        var name = $"wrangler-io-{Guid.NewGuid():N}"[..24];
        await WranglerAsync("d1", "create", name, "--jurisdiction", "eu");
        var folder = Directory.CreateTempSubdirectory("wrangler-d1-").FullName;
        try
        {
            var import = Path.Combine(folder, "seed.sql");
            await File.WriteAllTextAsync(import, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\nCREATE INDEX notes_body ON notes (body);\nINSERT INTO notes (body) VALUES ('it''s imported'), ('second');\n");
            await WranglerAsync("d1", "execute", name, "--remote", "--file", import);
            var count = Json(await WranglerAsync("d1", "execute", name, "--remote", "--json", "--command", "SELECT count(*) AS n FROM notes"));
            Assert.Equal(2, count[0].GetProperty("results")[0].GetProperty("n").GetInt32());

            var export = Path.Combine(folder, "dump.sql");
            await WranglerAsync("d1", "export", name, "--remote", "--output", export);
            var sql = await File.ReadAllTextAsync(export);
            Assert.Contains("CREATE TABLE notes", sql);
            Assert.Contains("CREATE INDEX notes_body", sql);
            Assert.Contains("'it''s imported'", sql);
            // The emulator's own tables (its replication log) are not the database's.
            Assert.DoesNotContain("_emulator", sql);

            var schemaOnly = Path.Combine(folder, "schema.sql");
            await WranglerAsync("d1", "export", name, "--remote", "--output", schemaOnly, "--no-data");
            Assert.DoesNotContain("INSERT", await File.ReadAllTextAsync(schemaOnly));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            var id = (await harness.CloudflareAsync(HttpMethod.Get, $"accounts/{harness.ControlPlane.AccountId}/d1/database/{name}")).Envelope
                .GetProperty("result").GetProperty("uuid").GetString();
            await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/d1/database/{id}");
        }
    }

    [Fact]
    public async Task Deploy_then_secret_then_deploy_again_serves_the_new_code_with_the_secret()
    {
        var name = $"wrangler-deploy-{Guid.NewGuid():N}"[..28];
        var project = Directory.CreateTempSubdirectory("wrangler-project-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(project, "wrangler.jsonc"),
                $"{{ \"name\": \"{name}\", \"main\": \"index.js\", \"compatibility_date\": \"2026-07-01\", \"vars\": {{ \"GREETING\": \"hello\" }} }}");
            await File.WriteAllTextAsync(Path.Combine(project, "index.js"),
                "export default { fetch(request, env) { return new Response(`v1 ${env.GREETING}`); } };");
            await WranglerInAsync(project, null, "deploy");
            Assert.Equal("v1 hello", await harness.Http.GetStringAsync(harness.Supervisor.Find(name)!.Url));

            await WranglerInAsync(project, "s3cr3t\n", "secret", "put", "API_KEY");
            var secrets = Json(await WranglerInAsync(project, null, "secret", "list"));
            Assert.Equal(["API_KEY"], secrets.EnumerateArray().Select(s => s.GetProperty("name").GetString()));

            // The second deploy is a new version (uploaded, then deployed) that keeps the secret.
            await File.WriteAllTextAsync(Path.Combine(project, "index.js"),
                "export default { fetch(request, env) { return new Response(`v2 ${env.GREETING} ${env.API_KEY}`); } };");
            var deployed = await WranglerInAsync(project, null, "deploy");
            Assert.Contains("Current Version ID", deployed);
            Assert.Equal("v2 hello s3cr3t", await harness.Http.GetStringAsync(harness.Supervisor.Find(name)!.Url));

            await WranglerInAsync(project, null, "secret", "delete", "API_KEY");
            Assert.Equal("v2 hello undefined", await harness.Http.GetStringAsync(harness.Supervisor.Find(name)!.Url));
        }
        finally
        {
            Directory.Delete(project, recursive: true);
            await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/workers/scripts/{name}");
        }
    }
}
