using System.Net;
using System.Text;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Every TCP port the harness listens on — each stack's Worker port and control entrypoint, the
/// runtime host's Miniflare loopback ports, the local Cloudflare API — probed without credentials:
/// none serves a tenant's data, and every control entrypoint answers 401 and changes nothing.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class ListeningPortsTests(HarnessFixture harness)
{
    private const string Account = "account-1";

    [Fact]
    public async Task No_port_serves_tenant_data_without_credentials()
    {
        // What must not leak: a client's name, a document's bytes, the owner's e-mail.
        var api = harness.AsOwner(Account);
        var canary = $"canary-{Guid.NewGuid():N}";
        var client = await api.CreateIdAsync("clients", new { name = canary });
        using (var upload = await api.SendAsync(HttpMethod.Post, $"/api/documents?name=canary.txt&clientId={client}",
            content: new StringContent($"document {canary}", Encoding.UTF8, "text/plain")))
        {
            await AccountApi.ReadAsync(upload, HttpStatusCode.Created);
        }
        var secrets = new[] { canary, AccountOwnerBootstrap.OwnerEmail(Account) };

        var pids = ProcessTable.FindByStateRoot(harness.StateRoot);
        var ports = ListeningSockets.Of(pids).Select(p => p.Port).Append(harness.ControlPlane.BaseUrl.Port).Distinct().ToList();
        var bucket = $"acct-{Account}-documents";
        var probes = new (HttpMethod Method, string Path, string? Body)[]
        {
            (HttpMethod.Post, "/d1/DB/query", "{\"sql\":\"SELECT body FROM clients UNION ALL SELECT body FROM users\"}"),
            (HttpMethod.Post, "/d1/DB/batch", "{\"statements\":[{\"sql\":\"SELECT body FROM clients\"}]}"),
            (HttpMethod.Post, "/d1/DB/session", "{\"statements\":[{\"sql\":\"SELECT body FROM users\"}]}"),
            (HttpMethod.Get, "/d1/DB/replication", null),
            (HttpMethod.Get, "/r2/DOCUMENTS/list", null),
            (HttpMethod.Get, "/kv/CACHE/entries", null),
            (HttpMethod.Put, "/r2/DOCUMENTS/objects/planted-by-the-probe", "planted"),
            (HttpMethod.Post, "/d1/DB/migrations", "{\"migrations\":[{\"name\":\"9999_probe\",\"statements\":[\"DELETE FROM clients\"]}]}"),
            (HttpMethod.Get, "/api/clients", null),
            (HttpMethod.Get, $"/api/clients/{client}", null),
            (HttpMethod.Get, $"/cdn-cgi/local/r2/public/{bucket}/documents", null),
            (HttpMethod.Get, $"/cdn-cgi/local/r2/s3/{bucket}", null),
            (HttpMethod.Get, "/cdn-cgi/explorer/api/d1", null),
            (HttpMethod.Post, "/cdn-cgi/platform-proxy", "[]"),
            (HttpMethod.Get, "/core/dev-registry", null),
            (HttpMethod.Get, "/core/do-storage/x", null),
            (HttpMethod.Get, $"/client/v4/accounts/{harness.ControlPlane.AccountId}/d1/database", null),
            (HttpMethod.Get, "/__emulator/residency", null),
            (HttpMethod.Get, $"/admin/accounts/{Account}", null),
        };

        var leaks = new List<string>();
        var controlEntrypoints = 0;
        foreach (var port in ports)
        {
            foreach (var (method, path, body) in probes)
            {
                using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{port}{path}")
                {
                    Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
                };
                if (path == "/cdn-cgi/platform-proxy")
                {
                    request.Headers.TryAddWithoutValidation("MF-Op", "GET");
                }
                string text;
                HttpStatusCode status;
                try
                {
                    using var response = await harness.Http.SendAsync(request);
                    status = response.StatusCode;
                    text = await response.Content.ReadAsStringAsync();
                }
                catch (HttpRequestException)
                {
                    continue; // Not an HTTP server, or it hung up: it served nothing.
                }
                if (secrets.FirstOrDefault(s => text.Contains(s, StringComparison.Ordinal)) is { } leaked)
                {
                    leaks.Add($"{method} 127.0.0.1:{port}{path} → {(int)status} carries {leaked}");
                }
                if (path == "/d1/DB/query" && text.Contains("control entrypoint", StringComparison.Ordinal))
                {
                    controlEntrypoints++;
                    Assert.Equal(HttpStatusCode.Unauthorized, status);
                }
            }
        }
        Assert.True(leaks.Count == 0, string.Join('\n', leaks));
        // Every running stack's control entrypoint was among the ports probed (so the sweep saw them).
        var running = new[] { "platform", HarnessFixture.StackOf("account-1"), HarnessFixture.StackOf("account-2") };
        Assert.True(controlEntrypoints >= running.Length, $"found {controlEntrypoints} control entrypoints on {ports.Count} ports");
        // And none of the writes took: the account's data is all there, nothing was planted.
        Assert.Equal(canary, (await api.GetJsonAsync($"/api/clients/{client}")).GetProperty("name").GetString());
        var objects = await harness.Supervisor.ListR2Async(HarnessFixture.StackOf(Account), "DOCUMENTS", CancellationToken.None);
        Assert.DoesNotContain(objects.GetProperty("objects").EnumerateArray(), o => o.GetProperty("key").GetString() == "planted-by-the-probe");
    }
}
