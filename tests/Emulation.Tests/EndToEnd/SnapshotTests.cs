using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Snapshots of the whole state: taken while a Worker writes D1, R2 and KV, and restored to exactly
/// what they held — the platform's registry and the control plane's records included. Restores stop
/// every stack, so these run in the disruptive harness.
/// </summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed class SnapshotTests(DisruptiveHarnessFixture harness) : IAsyncLifetime
{
    private readonly string _script = $"snap-{Guid.NewGuid():N}"[..20];
    private readonly List<string> _snapshots = [];
    private string _database = "";
    private string _namespace = "";

    // Each write puts row i in D1, then its object in R2, then its value in KV; GET / answers all
    // three (objects by SHA-256 of their bytes).
    private const string Store = """
        const value = (i) => "value-" + i + "-" + "x".repeat(i % 50);
        const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
        export default {
          async fetch(request, env) {
            const url = new URL(request.url);
            await env.DB.prepare("CREATE TABLE IF NOT EXISTS t (i INTEGER PRIMARY KEY, v TEXT NOT NULL)").run();
            const i = Number(url.searchParams.get("i"));
            if (url.pathname === "/write") {
              await env.DB.prepare("INSERT INTO t (i, v) VALUES (?, ?)").bind(i, value(i)).run();
              await env.FILES.put("o/" + i, value(i).repeat(100));
              await env.CACHE.put("k/" + i, value(i));
              return new Response("ok");
            }
            if (url.pathname === "/delete") {
              await env.DB.prepare("DELETE FROM t WHERE i = ?").bind(i).run();
              await env.FILES.delete("o/" + i);
              await env.CACHE.delete("k/" + i);
              return new Response("ok");
            }
            const rows = (await env.DB.prepare("SELECT i, v FROM t ORDER BY i").all()).results;
            const objects = [];
            let cursor;
            do {
              const page = await env.FILES.list({ cursor });
              for (const o of page.objects) objects.push({ key: o.key, sha256: hex(await crypto.subtle.digest("SHA-256", await (await env.FILES.get(o.key)).arrayBuffer())) });
              cursor = page.truncated ? page.cursor : undefined;
            } while (cursor);
            const kv = [];
            let keys;
            do {
              const page = await env.CACHE.list({ cursor: keys });
              for (const k of page.keys) kv.push({ key: k.name, value: await env.CACHE.get(k.name) });
              keys = page.list_complete ? undefined : page.cursor;
            } while (keys);
            return Response.json({ rows, objects, kv });
          },
        };
        """;

    private string Account => $"accounts/{harness.ControlPlane.AccountId}";

    public async Task InitializeAsync()
    {
        _database = (await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = _script, jurisdiction = "eu" }))
            .Envelope.GetProperty("result").GetProperty("uuid").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = _script }, jurisdiction: "eu")).Status);
        _namespace = (await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title = _script }))
            .Envelope.GetProperty("result").GetProperty("id").GetString()!;
        await UploadAsync(_script);
    }

    public async Task DisposeAsync()
    {
        foreach (var name in _snapshots)
        {
            await harness.CloudflareAsync(HttpMethod.Delete, $"/__emulator/snapshots/{name}");
        }
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{_script}");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{_script}-late");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/d1/database/{_database}");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/r2/buckets/{_script}", jurisdiction: "eu");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{_namespace}");
    }

    private async Task UploadAsync(string name)
    {
        var (status, envelope) = await harness.UploadScriptAsync(name, Store,
        [
            new { type = "d1", name = "DB", id = _database },
            new { type = "r2_bucket", name = "FILES", bucket_name = _script, jurisdiction = "eu" },
            new { type = "kv_namespace", name = "CACHE", namespace_id = _namespace },
        ]);
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
    }

    private async Task<string> SendAsync(string pathAndQuery)
    {
        using var response = await harness.Http.GetAsync(new Uri(new Uri(harness.Supervisor.Find(_script)!.Url!), pathAndQuery));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{pathAndQuery}: {(int)response.StatusCode} {body}");
        return body;
    }

    private async Task<JsonObject> StateAsync() => JsonNode.Parse(await SendAsync("/"))!.AsObject();

    private async Task<JsonElement> SnapshotAsync(string name)
    {
        _snapshots.Add(name);
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/snapshots", new { name });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        return envelope.GetProperty("result");
    }

    private async Task<JsonElement> RestoreAsync(string name)
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/snapshots/{name}/restore");
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        return envelope.GetProperty("result");
    }

    private Task<JsonElement> PlatformProbeAsync(string sql) =>
        harness.Supervisor.QueryD1Async("platform", "DB", sql, [], CancellationToken.None);

    private static string Value(int i) => $"value-{i}-{new string('x', i % 50)}";

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task A_snapshot_taken_while_a_Worker_writes_restores_a_consistent_point_and_a_quiet_one_restores_exactly()
    {
        for (var i = 0; i < 20; i++)
        {
            await SendAsync($"/write?i={i}");
        }
        await PlatformProbeAsync("CREATE TABLE IF NOT EXISTS snapshot_probe (label TEXT)");
        await PlatformProbeAsync("INSERT INTO snapshot_probe VALUES ('before')");

        // Writes keep coming while the snapshot is taken: each stack is copied at some point of them.
        var acknowledged = 20;
        var started = 20;
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref started);
                await SendAsync($"/write?i={started - 1}");
                Interlocked.Increment(ref acknowledged);
            }
        });
        await Task.Delay(300);
        var acknowledgedBefore = Volatile.Read(ref acknowledged);
        var manifest = await SnapshotAsync("under-traffic");
        var startedBy = Volatile.Read(ref started);
        await Task.Delay(300);
        await stop.CancelAsync();
        await traffic;
        Assert.Contains(_script, manifest.GetProperty("stacks").EnumerateArray().Select(s => s.GetString()));

        // Changes after it: gone once it is restored.
        await SendAsync("/delete?i=0");
        await SendAsync("/write?i=100000");
        await PlatformProbeAsync("INSERT INTO snapshot_probe VALUES ('after')");
        await UploadAsync($"{_script}-late");

        var restored = await RestoreAsync("under-traffic");
        Assert.Contains($"{_script}-late", restored.GetProperty("stopped").EnumerateArray().Select(s => s.GetString()));
        Assert.Empty(restored.GetProperty("failed").EnumerateArray());

        var state = await StateAsync();
        var rows = state["rows"]!.AsArray().Select(r => r!["i"]!.GetValue<int>()).ToList();
        // A prefix of the writes: every one acknowledged before the snapshot began, none begun after it ended.
        Assert.Equal(Enumerable.Range(0, rows.Count), rows);
        Assert.InRange(rows.Count, acknowledgedBefore, startedBy);
        Assert.Equal(rows.Select(i => Value(i)), state["rows"]!.AsArray().Select(r => r!["v"]!.GetValue<string>()));
        // Each object and value is whole; only the write in flight when its stack was stopped may lack them.
        var objects = state["objects"]!.AsArray().ToDictionary(o => o!["key"]!.GetValue<string>(), o => o!["sha256"]!.GetValue<string>());
        var values = state["kv"]!.AsArray().ToDictionary(o => o!["key"]!.GetValue<string>(), o => o!["value"]!.GetValue<string>());
        foreach (var i in rows.SkipLast(1))
        {
            Assert.Equal(Sha256(string.Concat(Enumerable.Repeat(Value(i), 100))), objects[$"o/{i}"]);
            Assert.Equal(Value(i), values[$"k/{i}"]);
        }
        Assert.True(objects.Keys.All(k => rows.Contains(int.Parse(k[2..]))), string.Join(",", objects.Keys));
        var probes = (await PlatformProbeAsync("SELECT label FROM snapshot_probe")).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("label").GetString());
        Assert.Equal(["before"], probes);
        Assert.Equal(StackState.Stopped, harness.Supervisor.Find($"{_script}-late")!.State);
        Assert.DoesNotContain(harness.ControlPlane.Store.Snapshot.Scripts, s => s.Name == $"{_script}-late");

        // Quiet: restored, the state is exactly what was saved.
        await SnapshotAsync("quiet");
        var saved = await StateAsync();
        await SendAsync("/delete?i=1");
        await SendAsync("/write?i=200000");
        await RestoreAsync("quiet");
        Assert.Equal(saved.ToJsonString(), (await StateAsync()).ToJsonString());
        await PlatformProbeAsync("DROP TABLE snapshot_probe");
    }

    [Fact]
    public async Task Snapshots_are_listed_read_and_deleted_and_bad_requests_are_refused_naming_the_field()
    {
        await SnapshotAsync("listed");
        var (status, listed) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/snapshots");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("listed", listed.GetProperty("result").EnumerateArray().Select(s => s.GetProperty("name").GetString()));

        async Task RefusedAsync(HttpMethod method, string path, object? body, HttpStatusCode expected, string text)
        {
            var (code, envelope) = await harness.CloudflareAsync(method, path, body);
            Assert.Equal(expected, code);
            Assert.Contains(text, envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        }
        await RefusedAsync(HttpMethod.Post, "/__emulator/snapshots", new { name = "Not A Name" }, HttpStatusCode.BadRequest, "name:");
        await RefusedAsync(HttpMethod.Post, "/__emulator/snapshots", new { name = 7 }, HttpStatusCode.BadRequest, "name:");
        await RefusedAsync(HttpMethod.Post, "/__emulator/snapshots", new { name = "listed" }, HttpStatusCode.Conflict, "exists");
        await RefusedAsync(HttpMethod.Get, "/__emulator/snapshots/nothing-here", null, HttpStatusCode.NotFound, "no snapshot");
        await RefusedAsync(HttpMethod.Post, "/__emulator/snapshots/nothing-here/restore", null, HttpStatusCode.NotFound, "no snapshot");
        await RefusedAsync(HttpMethod.Delete, "/__emulator/snapshots/nothing-here", null, HttpStatusCode.NotFound, "no snapshot");
        var (unauthorised, _) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/snapshots", token: "not-the-token");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorised);

        // Taken with another layout, or with migrations this code lacks: refused, and nothing changes.
        var manifestFile = Path.Combine(harness.StateRoot, "snapshots", "listed", "manifest.json");
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestFile))!;
        var before = await StateAsync();
        manifest["format"] = 0;
        await File.WriteAllTextAsync(manifestFile, manifest.ToJsonString());
        await RefusedAsync(HttpMethod.Post, "/__emulator/snapshots/listed/restore", null, HttpStatusCode.Conflict, "layout 0");
        manifest["format"] = 1;
        manifest["migrations"]!["account"]!.AsArray().Add("9999_from_the_future.sql");
        await File.WriteAllTextAsync(manifestFile, manifest.ToJsonString());
        await RefusedAsync(HttpMethod.Post, "/__emulator/snapshots/listed/restore", null, HttpStatusCode.Conflict, "account/9999_from_the_future.sql");
        Assert.Equal(StackState.Running, harness.Supervisor.Find(_script)!.State);
        Assert.Equal(before.ToJsonString(), (await StateAsync()).ToJsonString());

        Assert.Equal(HttpStatusCode.OK, (await harness.CloudflareAsync(HttpMethod.Delete, "/__emulator/snapshots/listed")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/snapshots/listed")).Status);
    }

    [Fact]
    public async Task The_emulator_rows_Save_snapshot_command_takes_one()
    {
        var before = harness.ControlPlane.Snapshots.List().Select(s => s.Name).ToHashSet();

        var result = await harness.App.ResourceCommands.ExecuteCommandAsync("cloudflare", "save-snapshot");

        Assert.True(result.Success, result.Message);
        var taken = Assert.Single(harness.ControlPlane.Snapshots.List(), s => !before.Contains(s.Name));
        _snapshots.Add(taken.Name);
        Assert.Contains(_script, taken.Stacks);
        Assert.Contains(taken.Name, result.Message);
    }
}
