using System.Net.Http.Json;
using System.Text.Json;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>The supervisor on its own (no Aspire): a real runtime host and real workerd processes.</summary>
public sealed class StackSupervisorTests : IAsyncLifetime
{
    private readonly string _stateRoot = RepositoryPaths.NewStateRoot("supervisor");
    private StackSupervisor _supervisor = null!;

    public async Task InitializeAsync()
    {
        _supervisor = await StandaloneSupervisor.StartAsync(_stateRoot);
    }

    public async Task DisposeAsync()
    {
        await _supervisor.DisposeAsync();
        HarnessFixture.TryDelete(_stateRoot);
    }

    private static StackDefinition Account(string name, string worker = "account") => new(name, worker,
        D1: new Dictionary<string, string> { ["DB"] = $"{name}-db" },
        R2: new Dictionary<string, string> { ["DOCUMENTS"] = $"{name}-bucket" },
        Kv: new Dictionary<string, string> { ["CACHE"] = $"{name}-kv" },
        Vars: new Dictionary<string, string> { ["ACCOUNT_ID"] = name });

    /// <summary>Uploaded code with no bindings at all.</summary>
    private static StackDefinition Uploaded(string name, string module) => new(name, "upload",
        D1: new Dictionary<string, string>(), R2: new Dictionary<string, string>(), Kv: new Dictionary<string, string>(), Vars: new Dictionary<string, string>(),
        Script: new UploadedScript(module, "2026-07-01", []));

    [Fact]
    public void The_runtime_host_runs_on_a_supported_node()
    {
        Assert.True(_supervisor.NodeVersion is { Major: >= NodeToolchain.MinimumMajorVersion }, $"node {_supervisor.NodeVersion}");
    }

    [Fact]
    public async Task Started_stack_serves_its_worker_with_migrations_applied()
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<StackLogLine>();
        _supervisor.LogReceived += lines.Enqueue;
        var status = await _supervisor.StartStackAsync(Account("acme"), CancellationToken.None);

        // The host batches log lines; what a stack logged before its start finished arrives before the start's answer.
        Assert.Contains(lines, l => l.Stack == "acme" && l.Line.Contains("applied migration 0001_clients.sql", StringComparison.Ordinal));

        Assert.Equal(StackState.Running, status.State);
        Assert.NotNull(status.ProcessId);
        using var http = new HttpClient();
        var health = await http.GetFromJsonAsync<JsonElement>(new Uri(new Uri(status.Url!), "/healthz"));
        Assert.Equal("acme", health.GetProperty("account").GetString());

        var migrations = await _supervisor.QueryD1Async("acme", "DB", "SELECT name FROM d1_migrations ORDER BY id", [], CancellationToken.None);
        Assert.Equal("0001_clients.sql", migrations.GetProperty("results")[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("start", "{\"stack\":{\"name\":\"x\",\"worker\":7}}", "start.stack.worker: must be a string")]
    [InlineData("stop", "{}", "stop.name: is required (string)")]
    [InlineData("stop", "{\"name\":\"acme\",\"force\":true}", "stop.force: is not a field of this message")]
    [InlineData("egress-policy", "{\"policy\":{\"allow\":[\"ok\",3]}}", "egress-policy.policy.allow[1]: must be a string")]
    [InlineData("d1", "{\"name\":\"acme\"}", "op: 'd1' is not an operation")]
    public async Task A_malformed_or_unknown_command_is_refused_by_name_and_field_and_every_stack_serves_on(string op, string message, string error)
    {
        var status = await _supervisor.StartStackAsync(Account("acme"), CancellationToken.None);

        var refusal = await Assert.ThrowsAsync<RuntimeHostException>(() =>
            _supervisor.Host.SendUntypedAsync(op, System.Text.Json.Nodes.JsonNode.Parse(message)!.AsObject(), CancellationToken.None));

        Assert.StartsWith(error, refusal.Message, StringComparison.Ordinal);
        using var http = new HttpClient();
        Assert.Equal("acme", (await http.GetFromJsonAsync<JsonElement>(new Uri(new Uri(status.Url!), "/healthz"))).GetProperty("account").GetString());
        Assert.Contains("DB", await _supervisor.LiveBindingsAsync("acme", CancellationToken.None));
    }

    [Fact]
    public async Task Every_request_a_stack_serves_is_a_line_of_its_log()
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<StackLogLine>();
        _supervisor.LogReceived += lines.Enqueue;
        var status = await _supervisor.StartStackAsync(Uploaded("logged", "export default { fetch: () => new Response('teapot', { status: 418 }) };"), CancellationToken.None);

        using var http = new HttpClient();
        using var response = await http.GetAsync($"{status.Url}/brew?strength=2");

        Assert.Equal(418, (int)response.StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!lines.Any(l => l.Stack == "logged" && l.Line.Contains("GET /brew", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        var line = Assert.Single(lines, l => l.Stack == "logged" && l.Line.Contains("GET /brew", StringComparison.Ordinal));
        Assert.Contains("418", line.Line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starting_a_running_stack_again_is_refused()
    {
        await _supervisor.StartStackAsync(Account("twice"), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _supervisor.StartStackAsync(Account("twice"), CancellationToken.None));
    }

    [Fact]
    public async Task A_stack_that_cannot_start_is_failed_with_the_reason_and_others_are_unaffected()
    {
        var good = await _supervisor.StartStackAsync(Account("good"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<RuntimeHostException>(() => _supervisor.StartStackAsync(Account("broken", worker: "no-such-worker"), CancellationToken.None));
        Assert.Contains("no-such-worker", error.Message, StringComparison.Ordinal);
        Assert.Equal(StackState.Failed, _supervisor.Find("broken")!.State);
        Assert.Equal(good.ProcessId, _supervisor.Find("good")!.ProcessId);
        Assert.Equal(StackState.Running, _supervisor.Find("good")!.State);
    }

    [Fact]
    public async Task Stop_then_restart_brings_the_stack_back_on_the_same_url_with_its_data()
    {
        var first = await _supervisor.StartStackAsync(Account("cycle"), CancellationToken.None);
        await _supervisor.QueryD1Async("cycle", "DB", "INSERT INTO clients (id, body) VALUES ('c1', json_object('name', 'Kept'))", [], CancellationToken.None);

        var stopped = await _supervisor.StopStackAsync("cycle", CancellationToken.None);
        Assert.Equal(StackState.Stopped, stopped.State);
        var restarted = await _supervisor.RestartStackAsync("cycle", CancellationToken.None);

        Assert.Equal(first.Url, restarted.Url);
        Assert.NotEqual(first.ProcessId, restarted.ProcessId);
        var rows = await _supervisor.QueryD1Async("cycle", "DB", "SELECT name FROM clients WHERE id = 'c1'", [], CancellationToken.None);
        Assert.Equal("Kept", rows.GetProperty("results")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Reads_leave_the_database_files_untouched_and_writes_still_reach_them()
    {
        await _supervisor.StartStackAsync(Account("reader"), CancellationToken.None);
        await _supervisor.QueryD1Async("reader", "DB", "INSERT INTO clients (id, body) VALUES ('r1', json_object('name', 'Read'))", [], CancellationToken.None);
        // The database and its write-ahead log (the -shm index changes on reads: it holds read marks).
        var files = Directory.GetFiles(_supervisor.StackDirectory("reader"), "*.sqlite*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("-shm", StringComparison.Ordinal)).ToArray();
        var before = FileHashes(files);

        for (var i = 0; i < 5; i++)
        {
            var rows = await _supervisor.QueryD1Async("reader", "DB", "SELECT json_extract(body, '$.name') AS name FROM clients WHERE id = 'r1'", [], CancellationToken.None);
            Assert.Equal("Read", rows.GetProperty("results")[0].GetProperty("name").GetString());
        }

        // Local D1 wrote (and fsynced) a session counter on every query, a read's included: a disk
        // write per request for every tenant. A read must not change a byte.
        Assert.Equal(before, FileHashes(files));
        await _supervisor.QueryD1Async("reader", "DB", "UPDATE clients SET body = json_set(body, '$.name', 'Changed') WHERE id = 'r1'", [], CancellationToken.None);
        Assert.NotEqual(before, FileHashes(files));
    }

    [Fact]
    public async Task A_stacks_D1_R2_and_KV_data_stays_in_its_own_folders_across_a_restart()
    {
        // D1, R2 and KV objects share one isolate: their files must still be where each plugin kept them.
        const string module = """
            export default {
              async fetch(request, env) {
                if (request.method === "PUT") {
                  await env.DB.prepare("CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY)").run();
                  await env.DB.prepare("INSERT INTO notes (id) VALUES ('d1-note')").run();
                  await env.FILES.put("r2-key", "r2-bytes");
                  await env.CACHE.put("kv-key", "kv-value");
                  return new Response("written");
                }
                const note = await env.DB.prepare("SELECT id FROM notes").first("id");
                const file = await (await env.FILES.get("r2-key")).text();
                return Response.json({ note, file, kv: await env.CACHE.get("kv-key") });
              },
            };
            """;
        var definition = new StackDefinition("stores", "upload",
            D1: new Dictionary<string, string> { ["DB"] = "stores-db" },
            R2: new Dictionary<string, string> { ["FILES"] = "stores-bucket" },
            Kv: new Dictionary<string, string> { ["CACHE"] = "stores-kv" },
            Vars: new Dictionary<string, string>(),
            Script: new UploadedScript(module, "2026-07-01", []));
        var status = await _supervisor.StartStackAsync(definition, CancellationToken.None);
        using var http = new HttpClient();
        (await http.PutAsync(status.Url, null)).EnsureSuccessStatusCode();

        var directory = _supervisor.StackDirectory("stores");
        foreach (var store in new[] { "d1/miniflare-D1DatabaseObject", "r2/miniflare-R2BucketObject", "kv/miniflare-KVNamespaceObject" })
        {
            var files = Directory.GetFiles(Path.Combine(directory, store), "*.sqlite").Where(f => Path.GetFileName(f) != "metadata.sqlite");
            Assert.True(files.Any(), $"no object database in {store}");
        }
        await _supervisor.RestartStackAsync("stores", CancellationToken.None);
        var read = await http.GetFromJsonAsync<JsonElement>(status.Url);
        Assert.Equal("d1-note", read.GetProperty("note").GetString());
        Assert.Equal("r2-bytes", read.GetProperty("file").GetString());
        Assert.Equal("kv-value", read.GetProperty("kv").GetString());
    }

    private static string FileHashes(IEnumerable<string> files) => string.Join(",", files.Select(f =>
    {
        using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }));

    [Fact]
    public async Task A_stack_can_run_uploaded_code_with_exactly_the_bindings_it_declares()
    {
        const string module = """
            export default {
              async fetch(request, env) {
                const row = await env.STORE.prepare("SELECT 40 + 2 AS answer").first();
                return Response.json({ answer: row.answer, bindings: Object.keys(env).sort() });
              },
            };
            """;
        var definition = new StackDefinition("uploaded", "upload",
            D1: new Dictionary<string, string> { ["STORE"] = "uploaded-db" },
            R2: new Dictionary<string, string>(),
            Kv: new Dictionary<string, string>(),
            Vars: new Dictionary<string, string> { ["GREETING"] = "hello" },
            Script: new UploadedScript(module, "2026-07-01", []));

        var status = await _supervisor.StartStackAsync(definition, CancellationToken.None);

        using var http = new HttpClient();
        var body = await http.GetFromJsonAsync<JsonElement>(status.Url);
        Assert.Equal(42, body.GetProperty("answer").GetInt32());
        Assert.Equal(["GREETING", "STORE"], body.GetProperty("bindings").EnumerateArray().Select(b => b.GetString()));
    }

    [Fact]
    public async Task A_worker_on_workers_dev_has_a_cache_that_keeps_nothing_and_another_worker_sees_its_subrequest_as_at_the_edge()
    {
        await _supervisor.StartStackAsync(Uploaded("echo", """
            export default { fetch: (request) => Response.json({ url: request.url, headers: Object.fromEntries(request.headers) }) };
            """), CancellationToken.None);
        var caller = await _supervisor.StartStackAsync(Uploaded("caller", """
            export default {
              async fetch() {
                const key = "https://caller.emulator.workers.dev/cached";
                await caches.default.put(key, new Response("kept?", { headers: { "cache-control": "max-age=600" } }));
                const cached = await caches.default.match(key);
                const echoed = await (await fetch("https://echo.emulator.workers.dev/path?q=1", { headers: { "cf-connecting-ip": "203.0.113.9" } })).json();
                return Response.json({ cached: cached !== undefined, echoed });
              },
            };
            """), CancellationToken.None);

        using var http = new HttpClient();
        var body = await http.GetFromJsonAsync<JsonElement>(caller.Url);

        // Cache API operations on *.workers.dev have no effect at Cloudflare.
        Assert.False(body.GetProperty("cached").GetBoolean());
        var echoed = body.GetProperty("echoed");
        // The callee sees the URL that was fetched, as at the edge, not its loopback address.
        Assert.Equal("https://echo.emulator.workers.dev/path?q=1", echoed.GetProperty("url").GetString());
        var headers = echoed.GetProperty("headers");
        Assert.Equal("echo.emulator.workers.dev", headers.GetProperty("host").GetString());
        Assert.False(headers.TryGetProperty("mf-proxy-shared-secret", out _));
        Assert.Equal("emulator.workers.dev", headers.GetProperty("cf-worker").GetString());
        // The caller's own value is not passed on (the edge sets the real client's address).
        Assert.NotEqual("203.0.113.9", headers.TryGetProperty("cf-connecting-ip", out var ip) ? ip.GetString() : null);
    }

    [Fact]
    public async Task A_worker_cannot_open_a_tcp_socket_past_the_egress_guard()
    {
        // Stands for any loopback port: another stack's control entrypoint, the local Cloudflare API.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync();
        var status = await _supervisor.StartStackAsync(Uploaded("sockets", """
                import { connect } from "cloudflare:sockets";
                export default {
                  async fetch(request) {
                    try {
                      const socket = connect(new URL(request.url).searchParams.get("to"));
                      await socket.opened;
                      const writer = socket.writable.getWriter();
                      await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
                      return new Response("connected");
                    } catch (error) {
                      return new Response("refused: " + error.message);
                    }
                  },
                };
                """), CancellationToken.None);

        using var http = new HttpClient();
        var answer = await http.GetStringAsync($"{status.Url}/?to=127.0.0.1:{port}");

        Assert.StartsWith("refused", answer, StringComparison.Ordinal);
        Assert.False(accepted.IsCompleted, "the Worker's socket reached the loopback listener");
    }

    [Fact]
    public async Task Redeploying_a_running_stack_swaps_its_code_and_bindings_in_place_keeping_url_and_data()
    {
        static StackDefinition Version(string version, Dictionary<string, string> vars) => new("versioned", "upload",
            D1: new Dictionary<string, string> { ["STORE"] = "versioned-db" },
            R2: new Dictionary<string, string>(),
            Kv: new Dictionary<string, string>(),
            Vars: vars,
            Script: new UploadedScript(
                $"export default {{ async fetch(request, env) {{ const row = await env.STORE.prepare(\"SELECT count(*) AS n FROM notes\").first(); return Response.json({{ version: \"{version}\", notes: row.n, bindings: Object.keys(env).sort() }}); }} }};",
                "2026-07-01", []));
        var first = await _supervisor.StartStackAsync(Version("v1", []), CancellationToken.None);
        await _supervisor.QueryD1Async("versioned", "STORE", "CREATE TABLE notes (id TEXT)", [], CancellationToken.None);
        await _supervisor.QueryD1Async("versioned", "STORE", "INSERT INTO notes (id) VALUES ('kept')", [], CancellationToken.None);

        var second = await _supervisor.RedeployStackAsync(Version("v2", new() { ["FLAG"] = "on" }), CancellationToken.None);

        Assert.Equal(StackState.Running, second.State);
        Assert.Equal(first.Url, second.Url);
        Assert.NotEqual(first.ProcessId, second.ProcessId);
        using var http = new HttpClient();
        var body = await http.GetFromJsonAsync<JsonElement>(second.Url);
        Assert.Equal("v2", body.GetProperty("version").GetString());
        Assert.Equal(1, body.GetProperty("notes").GetInt32());
        Assert.Equal(["FLAG", "STORE"], body.GetProperty("bindings").EnumerateArray().Select(b => b.GetString()));
    }

    [Fact]
    public async Task A_redeploy_whose_code_cannot_start_fails_that_stack_with_the_reason()
    {
        await _supervisor.StartStackAsync(Account("redeployed"), CancellationToken.None);
        var other = await _supervisor.StartStackAsync(Account("bystander"), CancellationToken.None);
        var broken = Account("redeployed") with { Script = new UploadedScript("export default { fetch( }", "2026-07-01", []) };

        var error = await Assert.ThrowsAsync<RuntimeHostException>(() => _supervisor.RedeployStackAsync(broken, CancellationToken.None));

        Assert.Contains("redeployed", error.Message, StringComparison.Ordinal);
        Assert.Equal(StackState.Failed, _supervisor.Find("redeployed")!.State);
        Assert.Equal(other.ProcessId, _supervisor.Find("bystander")!.ProcessId);
        Assert.Equal(StackState.Running, _supervisor.Find("bystander")!.State);
    }

    [Fact]
    public async Task Unknown_stack_names_are_refused()
    {
        await Assert.ThrowsAsync<KeyNotFoundException>(() => _supervisor.RestartStackAsync("nobody", CancellationToken.None));
    }

    [Fact]
    public async Task A_killed_hosts_temporary_folder_is_removed_by_the_next_host()
    {
        // The folder a host killed with SIGKILL leaves behind: named by a process that no longer runs.
        using var gone = System.Diagnostics.Process.Start("true")!;
        await gone.WaitForExitAsync();
        var leftover = Path.Combine(Path.GetTempPath(), "cloudflare-emulation-hosts", gone.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(Path.Combine(leftover, "miniflare-instance"));
        File.WriteAllText(Path.Combine(leftover, "miniflare-instance", "scratch"), "left behind");

        await using var next = await StandaloneSupervisor.StartAsync(RepositoryPaths.NewStateRoot("next-host"));

        Assert.False(Directory.Exists(leftover), $"{leftover} was not removed by the next host");
    }

    [Fact]
    public async Task Disposing_the_supervisor_stops_the_host_and_every_workerd_and_leaves_no_temporary_files()
    {
        await _supervisor.StartStackAsync(Account("short-lived"), CancellationToken.None);
        Assert.NotEmpty(ProcessTable.FindByStateRoot(_stateRoot));
        // The host's temporary folder, where each Miniflare instance keeps its own.
        var temporary = Path.Combine(Path.GetTempPath(), "cloudflare-emulation-hosts", _supervisor.HostProcessId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(temporary));

        await _supervisor.DisposeAsync();

        Assert.Empty(ProcessTable.FindByStateRoot(_stateRoot));
        Assert.False(Directory.Exists(temporary), $"{temporary} outlived the harness");
    }
}
