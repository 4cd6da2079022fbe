using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Cloudflare's official TypeScript/Node client (npm <c>cloudflare</c>, pinned in workers/) against
/// the local API (Clients/cloudflare-client.mjs): accounts, KV namespaces with auto-pagination, D1
/// create, get, query with parameters, raw, delete, and the client's error for a database that is
/// gone; KV values and bulk writes, reads and deletes, and keys paged by cursor.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class CloudflareClientTests(HarnessFixture harness)
{
    [Fact]
    public async Task The_official_client_lists_pages_creates_queries_and_deletes_as_at_Cloudflare()
    {
        var name = $"client-{Guid.NewGuid():N}"[..24];
        var output = await RunAsync("cloudflare-client.mjs", new()
        {
            ["CF_ACCOUNT"] = harness.ControlPlane.AccountId,
            ["DB_NAME"] = name,
        });

        Assert.Equal([harness.ControlPlane.AccountId], output.GetProperty("accounts").EnumerateArray().Select(a => a.GetString()));
        var titles = output.GetProperty("namespaces").EnumerateArray().Select(t => t.GetString()).ToList();
        Assert.Contains($"{HarnessFixture.StackOf("account-1")}-cache", titles);
        Assert.Equal(titles.Count, titles.Distinct().Count());
        // One a page: the client went through every page, and no page twice.
        Assert.True(titles.Count >= 2, string.Join(", ", titles));
        Assert.Equal(name, output.GetProperty("created").GetProperty("name").GetString());
        Assert.Equal(name, output.GetProperty("fetched").GetString());
        Assert.Equal("hello from the official client", output.GetProperty("rows")[0].GetProperty("greeting").GetString());
        Assert.Equal(404, output.GetProperty("missing").GetProperty("status").GetInt32());
        var raw = output.GetProperty("raw")[0];
        Assert.Equal(["one", "two"], raw.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("[[1,\"two\"]]", raw.GetProperty("rows").GetRawText());

        var kv = output.GetProperty("kv");
        Assert.Equal("hello kv", kv.GetProperty("value").GetString());
        // 26 keys, 10 a page: the client followed the cursor through three pages, each key once.
        var listed = kv.GetProperty("listed").EnumerateArray().Select(k => k.GetString()).ToList();
        Assert.Equal(26, listed.Count);
        Assert.Equal(26, listed.Distinct().Count());
        Assert.Contains("a key/with+chars", listed);
        Assert.Equal("value 24", kv.GetProperty("bulkRead").GetProperty("bulk-24").GetString());
        Assert.Equal(JsonValueKind.Null, kv.GetProperty("bulkRead").GetProperty("absent").ValueKind);
        Assert.Empty(kv.GetProperty("left").EnumerateArray());
    }

    [Fact]
    public async Task The_official_client_drives_custom_hostnames_page_by_page()
    {
        var prefix = $"sdk-{Guid.NewGuid():N}"[..16];
        var output = await RunAsync("custom-hostnames-client.mjs", new()
        {
            ["ZONE_ID"] = harness.ControlPlane.ZoneId,
            ["PREFIX"] = prefix,
        });

        var created = output.GetProperty("created").EnumerateArray().ToList();
        Assert.Equal(3, created.Count);
        Assert.All(created, h =>
        {
            Assert.Equal("pending", h.GetProperty("status").GetString());
            Assert.Equal("pending_validation", h.GetProperty("ssl").GetString());
            Assert.Equal($"_cf-custom-hostname.{h.GetProperty("hostname").GetString()}", h.GetProperty("ownership").GetString());
        });
        // One a page: the client followed the pages to the end, each hostname once.
        var ours = output.GetProperty("listed").EnumerateArray().Select(h => h.GetString()!).Where(h => h.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal([$"{prefix}-1.example.org", $"{prefix}-2.example.org", $"{prefix}-3.example.org"], ours);
        Assert.Equal($"{prefix}-1.example.org", output.GetProperty("fetched").GetString());
        Assert.Equal("acme", output.GetProperty("metadata").GetProperty("account").GetString());
        Assert.Equal(400, output.GetProperty("invalid").GetProperty("status").GetInt32());
        Assert.StartsWith("hostname:", output.GetProperty("invalid").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(output.GetProperty("left").EnumerateArray(), h => h.GetString()!.StartsWith(prefix, StringComparison.Ordinal));
    }

    /// <summary>Runs one of Clients/*.mjs with the pinned Node against the local API; what it printed, as JSON.</summary>
    private async Task<JsonElement> RunAsync(string script, Dictionary<string, string?> environment)
    {
        var node = Cloudflare.Emulation.Runtime.NodeToolchain.PinnedNode(RepositoryPaths.Workers);
        environment["WORKERS_DIR"] = RepositoryPaths.Workers;
        environment["CF_API"] = harness.ControlPlane.BaseUrl.ToString().TrimEnd('/');
        environment["CF_TOKEN"] = harness.ControlPlane.ApiToken;
        var result = await Cli.Wrap(File.Exists(node) ? node : "node")
            .WithArguments([Path.Combine(AppContext.BaseDirectory, "Clients", script)])
            .WithEnvironmentVariables(environment)
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.True(result.ExitCode == 0, result.StandardOutput + result.StandardError);
        return JsonDocument.Parse(result.StandardOutput).RootElement;
    }
}
