using System.Net;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// The residency policy (Harness:Residency: eu, GB, no extra egress) is enforced where resources are
/// created and bound, on every outbound fetch, and audited by the residency report.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class ResidencyTests(HarnessFixture harness)
{
    private string Account => $"accounts/{harness.ControlPlane.AccountId}";

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task A_database_or_bucket_outside_the_EU_is_refused_naming_the_field()
    {
        var (d1Status, d1) = await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = Unique("nowhere") });
        Assert.Equal(HttpStatusCode.Forbidden, d1Status);
        Assert.StartsWith("jurisdiction:", d1.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);

        var (r2Status, r2) = await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = Unique("anywhere") });
        Assert.Equal(HttpStatusCode.Forbidden, r2Status);
        Assert.StartsWith("cf-r2-jurisdiction:", r2.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);

        // Nothing was created.
        var (_, databases) = await harness.CloudflareAsync(HttpMethod.Get, $"{Account}/d1/database");
        Assert.DoesNotContain(databases.GetProperty("result").EnumerateArray(), d => d.GetProperty("name").GetString()!.StartsWith("nowhere", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tenant_host_name_outside_the_UK_region_is_refused()
    {
        var zone = harness.ControlPlane.ZoneId;
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, $"zones/{zone}/addressing/regional_hostnames",
            new { hostname = $"{Unique("elsewhere")}.localhost", region_key = "us" });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.StartsWith("region_key:", envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        var (outside, _) = await harness.CloudflareAsync(HttpMethod.Post, $"zones/{zone}/addressing/regional_hostnames",
            new { hostname = "acme.example.com", region_key = "gb" });
        Assert.Equal(HttpStatusCode.BadRequest, outside);
    }

    [Fact]
    public async Task A_Workers_fetch_outside_the_policy_is_blocked_and_recorded_and_the_report_flags_it()
    {
        // A tenant-like Worker that fetches whatever it is told to: uploaded through the Cloudflare API.
        var probe = Unique("egress-probe");
        var code = "export default { async fetch(request) { const to = new URL(request.url).searchParams.get('to'); " +
                   "const r = await fetch(to); return new Response(await r.text(), { status: r.status, headers: { 'x-egress': r.headers.get('x-emulator-egress') ?? 'passed' } }); } };";
        Assert.Equal(HttpStatusCode.OK, (await harness.UploadScriptAsync(probe, code, [])).Status);
        try
        {
            var url = harness.Supervisor.Find(probe)!.Url!;
            using var outside = await harness.Http.GetAsync($"{url}/?to={Uri.EscapeDataString("https://collector.example.com/upload?ssn=123")}");
            Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
            Assert.Equal("blocked", outside.Headers.GetValues("x-egress").Single());
            Assert.Contains("residency policy", await outside.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // Another Worker of the harness is reachable (workers.dev), and recorded as allowed.
            using var inside = await harness.Http.GetAsync($"{url}/?to={Uri.EscapeDataString("https://platform.emulator.workers.dev/healthz")}");
            Assert.Equal(HttpStatusCode.OK, inside.StatusCode);

            var (_, log) = await harness.CloudflareAsync(HttpMethod.Get, $"/__emulator/egress?stack={probe}");
            var records = log.GetProperty("result").GetProperty(probe).EnumerateArray().ToList();
            var blocked = Assert.Single(records, r => !r.GetProperty("allowed").GetBoolean());
            Assert.Equal("https://collector.example.com/upload", blocked.GetProperty("destination").GetString()); // no query string: it may carry data
            Assert.Contains(records, r => r.GetProperty("allowed").GetBoolean() && r.GetProperty("destination").GetString() == "https://platform.emulator.workers.dev/healthz");
            // Also on disk beside the stack's state, so a report after a restart still sees it.
            var onDisk = await File.ReadAllTextAsync(Path.Combine(harness.Supervisor.StackDirectory(probe), "egress.jsonl"));
            Assert.Contains("https://collector.example.com/upload", onDisk, StringComparison.Ordinal);
            Assert.DoesNotContain("ssn=123", onDisk, StringComparison.Ordinal);

            var (_, report) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/residency");
            var violations = report.GetProperty("result").GetProperty("violations").EnumerateArray().Select(v => v.GetString()!).ToList();
            Assert.Contains(violations, v => v.StartsWith($"{probe}:", StringComparison.Ordinal) && v.Contains("collector.example.com", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(harness.StateRoot, "reports", "residency.json")));
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{probe}");
        }
    }

    [Fact]
    public async Task The_report_shows_every_account_in_the_EU_with_nothing_personal_in_KV()
    {
        // Make sure every account has something cached in KV: a request as its owner caches the role.
        foreach (var account in HarnessFixture.Accounts)
        {
            await harness.AsOwner(account).ListIdsAsync("clients", "limit=1");
        }
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/residency");
        Assert.Equal(HttpStatusCode.OK, status);
        var report = envelope.GetProperty("result");
        var stacks = report.GetProperty("stacks").EnumerateArray().ToDictionary(s => s.GetProperty("stack").GetString()!);
        foreach (var account in HarnessFixture.Accounts)
        {
            var stack = stacks[HarnessFixture.StackOf(account)];
            Assert.Equal($"{account}.localhost", stack.GetProperty("hostname").GetProperty("hostname").GetString());
            Assert.Equal("gb", stack.GetProperty("hostname").GetProperty("region").GetString());
            Assert.Equal("eu", stack.GetProperty("d1")[0].GetProperty("jurisdiction").GetString());
            Assert.Equal("eu", stack.GetProperty("r2")[0].GetProperty("bucketJurisdiction").GetString());
            Assert.Equal("eu", stack.GetProperty("r2")[0].GetProperty("bindingJurisdiction").GetString());
            var kv = stack.GetProperty("kv")[0];
            Assert.True(kv.GetProperty("keys").GetInt32() > 0, "the role cache should hold something to audit");
            Assert.Equal(["principal:"], kv.GetProperty("keyPrefixes").EnumerateArray().Select(p => p.GetString()));
            Assert.Empty(kv.GetProperty("personalDataKeys").EnumerateArray());
            Assert.Equal(["ACCOUNT_ID", "AUTH_PUBLIC_KEY", "CACHE", "DB", "DOCUMENTS"], stack.GetProperty("liveBindings").EnumerateArray().Select(b => b.GetString()));
        }
        var violations = report.GetProperty("violations").EnumerateArray().Select(v => v.GetString()!).ToList();
        Assert.DoesNotContain(violations, v => HarnessFixture.Accounts.Any(a => v.StartsWith(HarnessFixture.StackOf(a) + ":", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_report_shows_a_databases_read_replica_regions()
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "replicated");
        var (set, envelope) = await harness.CloudflareAsync(HttpMethod.Put, $"/__emulator/stacks/{account.Stack}/d1/DB/replication", new { replicas = 2, lagMs = 0 });
        Assert.True(set == HttpStatusCode.OK, envelope.ToString());

        var (_, report) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/residency");
        var stack = report.GetProperty("result").GetProperty("stacks").EnumerateArray().Single(s => s.GetProperty("stack").GetString() == account.Stack);
        var d1 = stack.GetProperty("d1")[0];
        Assert.Equal("eu", d1.GetProperty("jurisdiction").GetString());
        Assert.Equal(["EEUR", "WEUR"], d1.GetProperty("replicaRegions").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_report_flags_personal_data_in_KV_and_a_tenant_host_name_without_its_region()
    {
        // A Worker that caches a profile in KV (KV has no jurisdiction guarantee).
        var probe = Unique("kv-probe");
        var (_, created) = await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title = probe });
        var namespaceId = created.GetProperty("result").GetProperty("id").GetString()!;
        var code = "export default { async fetch(r, env) { await env.CACHE.put('profile:1', JSON.stringify({ email: 'ada@example.com', role: 'staff' })); return new Response('ok'); } };";
        Assert.Equal(HttpStatusCode.OK, (await harness.UploadScriptAsync(probe, code, [new { type = "kv_namespace", name = "CACHE", namespace_id = namespaceId }])).Status);
        // And a tenant's host name loses its UK pinning (a tenant of this test's own).
        await using var tenant = await TemporaryAccount.CreateAsync(harness, "unpinned");
        var zone = $"zones/{harness.ControlPlane.ZoneId}/addressing/regional_hostnames";
        Assert.Equal(HttpStatusCode.OK, (await harness.CloudflareAsync(HttpMethod.Delete, $"{zone}/{tenant.Slug}.localhost")).Status);
        try
        {
            Assert.Equal("ok", await harness.Http.GetStringAsync(harness.Supervisor.Find(probe)!.Url));
            var (_, report) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/residency");
            var result = report.GetProperty("result");
            Assert.False(result.GetProperty("compliant").GetBoolean());
            var violations = result.GetProperty("violations").EnumerateArray().Select(v => v.GetString()!).ToList();
            Assert.Contains(violations, v => v.StartsWith($"{probe}: KV CACHE holds personal data under 'profile:1'", StringComparison.Ordinal));
            Assert.Contains(violations, v => v.StartsWith($"{tenant.Stack}: host name {tenant.Slug}.localhost", StringComparison.Ordinal));
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{probe}");
            await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{namespaceId}");
        }
    }

    [Fact]
    public async Task The_dashboard_command_writes_the_report()
    {
        var path = Path.Combine(harness.StateRoot, "reports", "residency.json");
        if (File.Exists(path))
        {
            File.Delete(path);
        }
        var result = await harness.App.ResourceCommands.ExecuteCommandAsync("cloudflare", "residency-report");
        Assert.True(File.Exists(path), result.Message);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        Assert.Equal(result.Success, json.RootElement.GetProperty("compliant").GetBoolean());
        Assert.True(json.RootElement.GetProperty("stacks").GetArrayLength() >= 3);
    }
}
