using System.Net;
using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Platform;
using Emulation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Signup → provisioning through the (local) Cloudflare API → a routed tenant; failures at every
/// step resume on retry without duplicates; deletion removes everything of the account.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class ProvisioningTests(HarnessFixture harness) : IAsyncLifetime
{
    private readonly List<string> _slugs = [];

    private ControlPlaneServer ControlPlane => harness.ControlPlane;

    /// <summary>A new account's slug; the account is deleted when the test is done, whatever became of it.</summary>
    private string NewSlug()
    {
        var slug = $"firm-{Guid.NewGuid():N}"[..20];
        _slugs.Add(slug);
        return slug;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", Array.Empty<object>());
        foreach (var slug in _slugs)
        {
            using var deleted = await AdminAsync(HttpMethod.Delete, $"/admin/accounts/{slug}");
            Assert.True(deleted.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound, $"deleting {slug}: {(int)deleted.StatusCode}");
        }
    }

    private Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, object? body = null) => harness.AdminAsync(method, path, body);

    private async Task<JsonElement> CloudflareAsync(HttpMethod method, string path, object? body = null) =>
        (await harness.CloudflareAsync(method, path, body)).Envelope;

    private Task<JsonElement> ListAsync(string what) => CloudflareAsync(HttpMethod.Get, $"accounts/{ControlPlane.AccountId}/{what}?per_page=100");

    [Fact]
    public async Task Signup_provisions_EU_resources_and_a_worker_bound_to_them_only_and_the_tenant_serves()
    {
        var slug = NewSlug();
        using var signup = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = "Acme Advisers" });
        var account = await AccountApi.ReadAsync(signup, HttpStatusCode.Created);
        Assert.Equal("active", account.GetProperty("status").GetString());
        var routing = account.GetProperty("routing");
        Assert.Equal("eu", routing.GetProperty("jurisdiction").GetString());
        Assert.Equal($"https://acct-{slug}.emulator.workers.dev", routing.GetProperty("workerUrl").GetString());

        // The control plane's records: an EU D1 and an EU bucket, and a script bound to exactly them.
        var db = (await ListAsync("d1/database")).GetProperty("result").EnumerateArray().Single(d => d.GetProperty("name").GetString() == $"acct-{slug}");
        Assert.Equal("eu", db.GetProperty("jurisdiction").GetString());
        Assert.Equal(db.GetProperty("uuid").GetString(), routing.GetProperty("dbShardId").GetString());
        var bucket = (await ListAsync("r2/buckets")).GetProperty("result").GetProperty("buckets").EnumerateArray().Single(b => b.GetProperty("name").GetString() == $"acct-{slug}-documents");
        Assert.Equal("eu", bucket.GetProperty("jurisdiction").GetString());

        // The live runtime: the Worker has exactly these bindings, and serves this account only.
        Assert.Equal(["ACCOUNT_ID", "AUTH_PUBLIC_KEY", "CACHE", "DB", "DOCUMENTS"],
            await harness.Supervisor.LiveBindingsAsync($"acct-{slug}", CancellationToken.None));
        var stack = harness.Supervisor.Find($"acct-{slug}")!;
        var owner = await new AccountOwnerBootstrap(harness.Http, harness.Tokens).EnsureOwnerAsync(new Uri(stack.Url!), slug, CancellationToken.None);
        var api = new AccountApi(harness.Http, harness.PlatformUrl, slug, harness.Tokens.Issue(slug, owner, TimeSpan.FromMinutes(5)));
        var clientId = await api.CreateIdAsync("clients", new { name = "First client" });
        Assert.Contains(clientId, await api.ListAllIdsAsync("clients"));
        var migrations = await harness.Supervisor.QueryD1Async($"acct-{slug}", "DB", "SELECT name FROM d1_migrations ORDER BY name", [], CancellationToken.None);
        // Every migration of the account Worker's release, in order.
        var released = Directory.GetFiles(Path.Combine(RepositoryPaths.Workers, "account", "migrations"), "*.sql").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(released, migrations.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
    }

    [Theory]
    [InlineData("", "slug")]
    [InlineData("Not A Slug", "slug")]
    [InlineData("this-slug-is-far-too-long-to-name-the-resources-it-needs", "slug")]
    public async Task Invalid_signups_get_400_naming_the_field_and_create_nothing(string slug, string field)
    {
        var before = (await ListAsync("d1/database")).GetProperty("result").GetArrayLength();
        using var response = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = "X" });
        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
        Assert.Equal(before, (await ListAsync("d1/database")).GetProperty("result").GetArrayLength());
    }

    [Fact]
    public async Task A_second_signup_for_the_same_name_gets_409()
    {
        var slug = NewSlug();
        using (var first = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = "One" }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }
        using var second = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = "Two" });
        Assert.Equal("slug", await AccountApi.ProblemFieldAsync(second, HttpStatusCode.Conflict));
    }

    [Theory]
    [InlineData("d1.create", "d1")]
    [InlineData("r2.create", "r2")]
    [InlineData("tokens.create", "r2-credentials")]
    [InlineData("kv.create", "kv")]
    [InlineData("scripts.upload", "script")]
    [InlineData("d1.query", "migrations")]
    [InlineData("regional_hostnames.create", "hostname")]
    [InlineData("workers.subdomain", "routing")]
    public async Task A_failure_at_any_step_is_resumed_by_a_retry_without_duplicates(string operation, string step)
    {
        var slug = NewSlug();
        await CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", new[] { new { stack = "*", service = "api", operation, error = "api-rate-limited", times = 1 } });

        using (var failed = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = "Unlucky" }))
        {
            var body = await AccountApi.ReadAsync(failed, HttpStatusCode.BadGateway);
            Assert.StartsWith($"{step}:", body.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("failed", body.GetProperty("account").GetProperty("status").GetString());
        }
        using (var retried = await AdminAsync(HttpMethod.Post, $"/admin/accounts/{slug}/provision"))
        {
            Assert.Equal("active", (await AccountApi.ReadAsync(retried, HttpStatusCode.OK)).GetProperty("status").GetString());
        }

        Assert.Single((await ListAsync("d1/database")).GetProperty("result").EnumerateArray(), d => d.GetProperty("name").GetString() == $"acct-{slug}");
        Assert.Single((await ListAsync("r2/buckets")).GetProperty("result").GetProperty("buckets").EnumerateArray(), b => b.GetProperty("name").GetString() == $"acct-{slug}-documents");
        Assert.Single((await ListAsync("storage/kv/namespaces")).GetProperty("result").EnumerateArray(), n => n.GetProperty("title").GetString() == $"acct-{slug}-cache");
        Assert.Single((await ListAsync("workers/scripts")).GetProperty("result").EnumerateArray(), s => s.GetProperty("id").GetString() == $"acct-{slug}");
    }

    [Fact]
    public async Task Resources_left_by_a_crashed_attempt_are_adopted_not_duplicated()
    {
        // A crash after Cloudflare created a resource but before the row recorded it leaves the
        // resource behind; the next attempt must find and reuse it (deterministic names, 409 → look-up).
        var slug = NewSlug();
        var account = $"accounts/{ControlPlane.AccountId}";
        var leftoverDb = (await CloudflareAsync(HttpMethod.Post, $"{account}/d1/database", new { name = $"acct-{slug}", jurisdiction = "eu" }))
            .GetProperty("result").GetProperty("uuid").GetString();
        var leftoverKv = (await CloudflareAsync(HttpMethod.Post, $"{account}/storage/kv/namespaces", new { title = $"acct-{slug}-cache" }))
            .GetProperty("result").GetProperty("id").GetString();

        using var signup = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = "After a crash" });
        var created = await AccountApi.ReadAsync(signup, HttpStatusCode.Created);

        Assert.Equal(leftoverDb, created.GetProperty("routing").GetProperty("dbShardId").GetString());
        Assert.Equal(leftoverKv, created.GetProperty("provisioning").GetProperty("resources").GetProperty("kvId").GetString());
        Assert.Single((await ListAsync("d1/database")).GetProperty("result").EnumerateArray(), d => d.GetProperty("name").GetString() == $"acct-{slug}");
        Assert.Single((await ListAsync("storage/kv/namespaces")).GetProperty("result").EnumerateArray(), n => n.GetProperty("title").GetString() == $"acct-{slug}-cache");
    }

    [Fact]
    public async Task Deleting_an_account_removes_everything_of_it_and_nothing_of_another()
    {
        var doomed = NewSlug();
        var kept = NewSlug();
        foreach (var slug in new[] { doomed, kept })
        {
            using var signup = await AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = slug });
            Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        }

        // Every kind of file an account leaves on disk: its D1 (primary and, with replication on, replica
        // databases and the replica slots), its bucket's objects, its KV entries (a token check caches one).
        var stack = $"acct-{doomed}";
        var owner = await new AccountOwnerBootstrap(harness.Http, harness.Tokens).EnsureOwnerAsync(new Uri(harness.Supervisor.Find(stack)!.Url!), doomed, CancellationToken.None);
        var api = new AccountApi(harness.Http, harness.PlatformUrl, doomed, harness.Tokens.Issue(doomed, owner, TimeSpan.FromMinutes(5)));
        var client = await new SampleRecords(api).ClientAsync();
        using (var upload = await api.SendAsync(HttpMethod.Post, $"/api/documents?name=doomed.txt&clientId={client}", content: new StringContent("bytes", System.Text.Encoding.UTF8, "text/plain")))
        {
            await AccountApi.ReadAsync(upload, HttpStatusCode.Created);
        }
        Assert.Equal(HttpStatusCode.OK, (await harness.CloudflareAsync(HttpMethod.Put, $"/__emulator/stacks/{stack}/d1/DB/replication", new { replicas = 1, lagMs = 0 })).Status);
        var script = harness.ControlPlane.Store.Snapshot.Scripts.Single(s => s.Name == stack).Bindings;
        var folders = new[]
        {
            harness.ControlPlane.Store.ResourceDirectory("d1", script.Single(b => b.Type == "d1").Id!),
            harness.ControlPlane.Store.ResourceDirectory("r2", script.Single(b => b.Type == "r2_bucket").BucketName!),
            harness.ControlPlane.Store.ResourceDirectory("kv", script.Single(b => b.Type == "kv_namespace").NamespaceId!),
            harness.Supervisor.StackDirectory(stack),
        };
        Assert.All(folders, folder => Assert.True(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Any(), $"{folder} holds nothing yet"));

        using (var delete = await AdminAsync(HttpMethod.Delete, $"/admin/accounts/{doomed}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        // Nothing of it is left on disk.
        Assert.All(folders, folder => Assert.False(Directory.Exists(folder), $"{folder} is still there"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(harness.StateRoot, $"*{doomed}*", SearchOption.AllDirectories));

        string[] Names(JsonElement list, string property) => [.. list.EnumerateArray().Select(e => e.GetProperty(property).GetString()!)];
        var databases = Names((await ListAsync("d1/database")).GetProperty("result"), "name");
        var buckets = Names((await ListAsync("r2/buckets")).GetProperty("result").GetProperty("buckets"), "name");
        var namespaces = Names((await ListAsync("storage/kv/namespaces")).GetProperty("result"), "title");
        var scripts = Names((await ListAsync("workers/scripts")).GetProperty("result"), "id");
        Assert.DoesNotContain(databases, n => n.Contains(doomed, StringComparison.Ordinal));
        Assert.DoesNotContain(buckets, n => n.Contains(doomed, StringComparison.Ordinal));
        Assert.DoesNotContain(namespaces, n => n.Contains(doomed, StringComparison.Ordinal));
        Assert.DoesNotContain(scripts, n => n.Contains(doomed, StringComparison.Ordinal));
        var tokens = harness.ControlPlane.Store.Snapshot.AllTokens;
        Assert.DoesNotContain(tokens, t => t.Bucket.Contains(doomed, StringComparison.Ordinal));
        Assert.Single(tokens, t => t.Bucket == $"acct-{kept}-documents");
        var hostnames = harness.ControlPlane.Store.Snapshot.AllRegionalHostnames;
        Assert.DoesNotContain(hostnames, h => h.Hostname == $"{doomed}.localhost");
        Assert.Equal("gb", Assert.Single(hostnames, h => h.Hostname == $"{kept}.localhost").RegionKey);
        Assert.Contains($"acct-{kept}", databases);
        Assert.Contains($"acct-{kept}", scripts);
        using (var gone = await AdminAsync(HttpMethod.Get, $"/admin/accounts/{doomed}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find($"acct-{kept}")!.State);
    }
}
