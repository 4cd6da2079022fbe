using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Tenant A (account-1) attacks tenant B (account-2) on every entity route, by every door: guessed
/// ids, B's host, B's path and B's Worker URL with A's token, a token signed by the wrong key, path
/// traversal in document ids, B's bookmark, a subject from B's users in A's token (KV cache keys).
/// Nothing succeeds, nothing of B comes back, and B's record is untouched.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class IsolationAttackMatrixTests(HarnessFixture harness)
{
    private const string Attacker = "account-1";
    private const string Victim = "account-2";

    public static TheoryData<string> Entities =>
    [
        "users", "groups", "group-members", "clients", "dependants", "dependant-clients", "cases", "case-tasks",
        "contact-companies", "contact-individuals", "client-contacts", "documents",
    ];

    [Theory]
    [MemberData(nameof(Entities))]
    public async Task A_cannot_read_change_list_or_delete_Bs_record(string entity)
    {
        var victim = harness.AsOwner(Victim);
        var (id, secret, patch) = await CreateVictimRecordAsync(victim, entity);
        var before = await victim.GetJsonAsync($"/api/{entity}/{id}");
        var aToken = harness.Tokens.Issue(Attacker, harness.Owners[Attacker], TimeSpan.FromMinutes(5));
        var attacks = new List<(string Door, HttpRequestMessage Request, HttpStatusCode[] Expected)>();

        // 1. Guessing: B's id through A's own account, every verb (with a change that would be valid;
        //    entities that cannot be changed or deleted at all answer 405 whoever asks).
        attacks.Add(("GET B's id via A", Request(HttpMethod.Get, Path(Attacker, $"/api/{entity}/{id}"), aToken), [HttpStatusCode.NotFound]));
        attacks.Add(("PATCH B's id via A", Request(HttpMethod.Patch, Path(Attacker, $"/api/{entity}/{id}"), aToken, patch ?? new { }, ifMatch: "\"1\""),
            [HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed]));
        attacks.Add(("DELETE B's id via A", Request(HttpMethod.Delete, Path(Attacker, $"/api/{entity}/{id}"), aToken), [HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed]));
        // 2. B's host and 3. B's path, with A's token: refused at the platform.
        var byHost = Request(HttpMethod.Get, new Uri(harness.PlatformUrl, $"/api/{entity}/{id}"), aToken);
        byHost.Headers.Host = $"{Victim}.localhost:{harness.PlatformUrl.Port}";
        attacks.Add(("B's host", byHost, [HttpStatusCode.Forbidden]));
        attacks.Add(("B's path", Request(HttpMethod.Get, Path(Victim, $"/api/{entity}/{id}"), aToken), [HttpStatusCode.Forbidden]));
        attacks.Add(("B's path, list", Request(HttpMethod.Get, Path(Victim, $"/api/{entity}"), aToken), [HttpStatusCode.Forbidden]));
        attacks.Add(("B's path, delete", Request(HttpMethod.Delete, Path(Victim, $"/api/{entity}/{id}"), aToken), [HttpStatusCode.Forbidden]));
        attacks.Add(("B's path, create", Request(HttpMethod.Post, Path(Victim, $"/api/{entity}"), aToken, new { name = "planted" }), [HttpStatusCode.Forbidden]));
        attacks.Add(("B's path, batch", Request(HttpMethod.Post, Path(Victim, $"/api/{entity}/batch"), aToken, new { items = new[] { new { name = "planted" } } }), [HttpStatusCode.Forbidden]));
        attacks.Add(("B's path, change", Request(HttpMethod.Patch, Path(Victim, $"/api/{entity}/{id}"), aToken, patch ?? new { }, ifMatch: "\"1\""), [HttpStatusCode.Forbidden]));
        // 4. B's Worker URL directly, with A's token: B's Worker checks the audience itself.
        var victimWorker = new Uri(harness.Supervisor.Find(HarnessFixture.StackOf(Victim))!.Url!);
        attacks.Add(("B's Worker URL", Request(HttpMethod.Get, new Uri(victimWorker, $"/api/{entity}/{id}"), aToken), [HttpStatusCode.Unauthorized]));
        attacks.Add(("B's Worker URL, create", Request(HttpMethod.Post, new Uri(victimWorker, $"/api/{entity}"), aToken, new { name = "planted" }), [HttpStatusCode.Unauthorized]));
        attacks.Add(("B's Worker URL, delete", Request(HttpMethod.Delete, new Uri(victimWorker, $"/api/{entity}/{id}"), aToken), [HttpStatusCode.Unauthorized]));
        // 5. A token for B signed by a key that is not the platform's.
        var forger = TokenIssuer.LoadOrCreate(RepositoryPaths.NewStateRoot("forger"));
        var forged = forger.Issue(Victim, harness.Owners[Victim], TimeSpan.FromMinutes(5));
        attacks.Add(("forged token, B's path", Request(HttpMethod.Get, Path(Victim, $"/api/{entity}/{id}"), forged), [HttpStatusCode.Unauthorized]));
        attacks.Add(("forged token, B's Worker", Request(HttpMethod.Get, new Uri(victimWorker, $"/api/{entity}/{id}"), forged), [HttpStatusCode.Unauthorized]));
        // 6. Path traversal in the id (documents: the R2 key is derived from it).
        foreach (var traversal in new[] { $"..%2F..%2F{id}", $"%2E%2E/{Victim}/{id}", $"..%5C{id}" })
        {
            var path = entity == "documents" ? $"/api/documents/{traversal}/content" : $"/api/{entity}/{traversal}";
            attacks.Add(($"traversal {traversal}", Request(HttpMethod.Get, Path(Attacker, path), aToken), [HttpStatusCode.NotFound, HttpStatusCode.BadRequest]));
        }
        // 7. B's bookmark on A's request: not A's database's.
        using (var own = await victim.SendAsync(HttpMethod.Get, $"/api/{entity}/{id}"))
        {
            var bookmark = AccountApi.BookmarkOf(own)!;
            var withBookmark = Request(HttpMethod.Get, Path(Attacker, $"/api/{entity}"), aToken);
            withBookmark.Headers.TryAddWithoutValidation(AccountApi.BookmarkHeader, bookmark);
            attacks.Add(("B's bookmark", withBookmark, [HttpStatusCode.BadRequest]));
        }
        // 8. A token from A's issuer naming B's owner as the subject: A's Worker (and A's KV cache, keyed
        //    by user id) knows no such user.
        var crossSubject = harness.Tokens.Issue(Attacker, harness.Owners[Victim], TimeSpan.FromMinutes(5));
        attacks.Add(("B's user id as subject", Request(HttpMethod.Get, Path(Attacker, $"/api/{entity}"), crossSubject), [HttpStatusCode.Unauthorized]));
        // 9. Listing through A with the filter that finds B's record in B's own account — B's client,
        //    case, group… id (checked below: every page through A, and B's own list has it).
        var query = ListQueryFinding(entity, before);

        var failures = new List<string>();
        foreach (var (door, request, expected) in attacks)
        {
            using (request)
            using (var response = await harness.Http.SendAsync(request))
            {
                var body = await response.Content.ReadAsStringAsync();
                if (!expected.Contains(response.StatusCode))
                {
                    failures.Add($"{door}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 200)]}");
                }
                if (body.Contains(secret, StringComparison.Ordinal) || (response.StatusCode == HttpStatusCode.OK && body.Contains(id, StringComparison.Ordinal)))
                {
                    failures.Add($"{door}: the answer carries B's data: {body[..Math.Min(body.Length, 200)]}");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{entity}:\n{string.Join('\n', failures)}");

        Assert.Contains(id, await victim.ListAllIdsAsync(entity, query));
        Assert.DoesNotContain(id, await harness.AsOwner(Attacker).ListAllIdsAsync(entity, query));

        // B's record is exactly as it was.
        var after = await victim.GetJsonAsync($"/api/{entity}/{id}");
        Assert.Equal(before.ToString(), after.ToString());
    }

    [Fact]
    public async Task A_cannot_refer_to_Bs_records_from_its_own()
    {
        var victimClient = await new SampleRecords(harness.AsOwner(Victim)).ClientAsync();
        using var response = await harness.AsOwner(Attacker).SendAsync(HttpMethod.Post, "/api/cases",
            new { clientId = victimClient, title = "Borrowed client", openedAt = "2026-01-01" });
        Assert.Equal("clientId", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Each_accounts_running_bindings_are_its_own_resources()
    {
        var seen = new HashSet<string>();
        foreach (var account in HarnessFixture.Accounts)
        {
            var stack = HarnessFixture.StackOf(account);
            // From the running runtime: the binding names the Worker has, and the database its D1 binding really opens.
            var live = await harness.Supervisor.LiveBindingsAsync(stack, CancellationToken.None);
            Assert.Equal(["ACCOUNT_ID", "AUTH_PUBLIC_KEY", "CACHE", "DB", "DOCUMENTS"], live);
            var status = await harness.Supervisor.D1ReplicationAsync(stack, "DB", null, CancellationToken.None);
            var databaseId = status.GetProperty("databaseId").GetString()!;
            // What the stack's workerd was started with, and what the script's upload declared.
            var running = harness.Supervisor.DefinitionOf(stack)!;
            var declared = harness.ControlPlane.Store.Snapshot.Scripts.Single(s => s.Name == stack).Bindings;
            Assert.Equal(declared.Single(b => b.Type == "d1").Id, databaseId);
            Assert.Equal(declared.Single(b => b.Type == "r2_bucket").BucketName, running.R2["DOCUMENTS"]);
            Assert.Equal(declared.Single(b => b.Type == "kv_namespace").NamespaceId, running.Kv["CACHE"]);
            // None of the three is any other account's.
            foreach (var resource in new[] { $"d1:{databaseId}", $"r2:{running.R2["DOCUMENTS"]}", $"kv:{running.Kv["CACHE"]}" })
            {
                Assert.True(seen.Add(resource), $"{account} shares {resource} with another account");
            }
        }
        Assert.Equal(3 * HarnessFixture.Accounts.Length, seen.Count);
    }

    [Fact]
    public async Task No_account_D1_file_holds_a_row_of_another_account()
    {
        // Two tenants of this test's own, with read replicas on (the replica databases and the
        // replication log are files too), and data written in each before and after.
        await using var a = await TemporaryAccount.CreateAsync(harness, "scan-a");
        await using var b = await TemporaryAccount.CreateAsync(harness, "scan-b");
        foreach (var account in new[] { a, b })
        {
            await new SampleRecords(account.Api).ClientAsync();
            var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, $"/__emulator/stacks/{account.Stack}/d1/DB/replication", new { replicas = 2, lagMs = 0 });
            Assert.True(status == HttpStatusCode.OK, envelope.ToString());
            await new SampleRecords(account.Api).ClientAsync();
        }

        foreach (var (account, other) in new[] { (a, b), (b, a) })
        {
            var files = D1Files.Of(harness.ControlPlane.Store.ResourceDirectory("d1", harness.DatabaseIdOf(account.Stack))).ToList();
            Assert.True(files.Count >= 3, $"{account.Slug}: expected the primary and two replica files, found {files.Count}");
            long own = 0, ownLogged = 0;
            foreach (var file in files)
            {
                using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
                connection.Open();
                var tables = Query(connection, "SELECT name FROM sqlite_master WHERE type = 'table'").ToList();
                foreach (var table in tables)
                {
                    var columns = Query(connection, $"SELECT name FROM pragma_table_info('{table}')").ToList();
                    if (!columns.Contains("body"))
                    {
                        continue;
                    }
                    own += Count(connection, $"SELECT count(*) FROM \"{table}\" WHERE json_valid(body) AND json_extract(body, '$.tracking.accountId') = '{account.Slug}'");
                    var foreign = Count(connection, $"SELECT count(*) FROM \"{table}\" WHERE json_valid(body) AND json_extract(body, '$.tracking.accountId') <> '{account.Slug}'");
                    Assert.True(foreign == 0, $"{file} table {table}: {foreign} rows of another account");
                }
                if (tables.Contains("_emulator_d1_log"))
                {
                    // The log keeps each write's statements as JSON, their values (a record's body, itself
                    // JSON) among the params: decode both levels rather than search the text.
                    string Logged(string slug) =>
                        "SELECT count(*) FROM _emulator_d1_log AS l, json_each(l.statements) AS s, json_each(json_extract(s.value, '$.params')) AS p " +
                        $"WHERE p.type = 'text' AND json_valid(p.value) AND json_extract(p.value, '$.tracking.accountId') = '{slug}'";
                    ownLogged += Count(connection, Logged(account.Slug));
                    Assert.Equal(0, Count(connection, Logged(other.Slug)));
                }
            }
            // The scan can see what it looks for: this account's own rows, in its tables and its log.
            Assert.True(own > 0, $"{account.Slug}: the scan found none of the account's own rows");
            Assert.True(ownLogged > 0, $"{account.Slug}: the scan found none of the account's own writes in the replication log");
        }
    }

    [Fact]
    public async Task Miniflares_local_R2_endpoint_is_no_door_into_a_bucket()
    {
        // Miniflare would serve any bucket of a stack, unauthenticated, at /cdn-cgi/local/r2/public/<bucket>/<key>
        // on the stack's own loopback port. No door leads there: not the platform, not another Worker.
        var victim = harness.AsOwner(Victim);
        var (id, _, _) = await CreateVictimRecordAsync(victim, "documents");
        var stack = HarnessFixture.StackOf(Victim);
        var objects = await harness.Supervisor.ListR2Async(stack, "DOCUMENTS", CancellationToken.None, prefix: $"documents/{id}");
        var key = objects.GetProperty("objects")[0].GetProperty("key").GetString()!;
        var local = $"/cdn-cgi/local/r2/public/{harness.Supervisor.DefinitionOf(stack)!.R2["DOCUMENTS"]}/{key}";

        // Through the platform, even with B's own token: it would skip B's Worker and its permissions.
        var bToken = harness.Tokens.Issue(Victim, harness.Owners[Victim], TimeSpan.FromMinutes(5));
        using (var request = Request(HttpMethod.Get, Path(Victim, local), bToken))
        using (var viaPlatform = await harness.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.NotFound, viaPlatform.StatusCode);
            Assert.DoesNotContain("confidential", await viaPlatform.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // On B's own port: Miniflare's public-bucket endpoint is patched out (docs/adr/0014).
        using (var direct = await harness.Http.GetAsync(new Uri(new Uri(harness.Supervisor.Find(stack)!.Url!), local)))
        {
            // The Worker's own answer: the path is no API route, so it is the web app's, which wants a user.
            Assert.Equal(HttpStatusCode.Unauthorized, direct.StatusCode);
            Assert.DoesNotContain("confidential", await direct.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // From another Worker of the harness, by B's workers.dev name.
        var probe = $"local-probe-{Guid.NewGuid():N}"[..24];
        const string code = "export default { async fetch(request) { const r = await fetch(new URL(request.url).searchParams.get('to')); " +
                            "return new Response(await r.text(), { status: r.status }); } };";
        Assert.Equal(HttpStatusCode.OK, (await harness.UploadScriptAsync(probe, code, [])).Status);
        try
        {
            var target = $"https://{stack}.{StackSupervisor.WorkersSubdomain}.workers.dev{local}";
            using var viaWorker = await harness.Http.GetAsync($"{harness.Supervisor.Find(probe)!.Url}/?to={Uri.EscapeDataString(target)}");
            Assert.Equal(HttpStatusCode.NotFound, viaWorker.StatusCode);
            Assert.DoesNotContain("confidential", await viaWorker.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Delete, $"accounts/{harness.ControlPlane.AccountId}/workers/scripts/{probe}");
        }
    }

    private static async Task<(string Id, string Secret, object? Patch)> CreateVictimRecordAsync(AccountApi victim, string entity)
    {
        if (entity == "documents")
        {
            var clientId = await new SampleRecords(victim).ClientAsync();
            var secretName = $"secret-{Guid.NewGuid():N}.txt";
            using var content = new ByteArrayContent("B's confidential bytes"u8.ToArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var upload = await victim.SendAsync(HttpMethod.Post, $"/api/documents?name={secretName}&clientId={clientId}", content: content);
            return ((await AccountApi.ReadAsync(upload, HttpStatusCode.Created)).GetProperty("id").GetString()!, secretName, new { name = "renamed.txt" });
        }
        var sample = await new SampleRecords(victim).ForAsync(entity);
        var record = await victim.CreateAsync(entity, sample.Create);
        // Something only B's record holds and the attacker never sends: its longest string value other
        // than its own id (for a link record, the id of a record it links).
        var secret = record.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String && p.Name != "id")
            .Select(p => p.Value.GetString()!).OrderByDescending(v => v.Length).First();
        return (record.GetProperty("id").GetString()!, secret, sample.Patch);
    }

    /// <summary>
    /// The list query (a filter of workers/account/src/entities/catalog.ts and the value in B's record)
    /// that finds the record in B's own account; groups have no filter: their whole list.
    /// </summary>
    private static string ListQueryFinding(string entity, JsonElement record)
    {
        var filter = entity switch
        {
            "users" or "clients" => "email",
            "group-members" => "groupId",
            "dependants" or "cases" or "documents" or "client-contacts" => "clientId",
            "dependant-clients" => "dependantId",
            "case-tasks" => "caseId",
            "contact-companies" => "kind",
            "contact-individuals" => "companyId",
            _ => null,
        };
        return filter is null ? "" : $"{filter}={Uri.EscapeDataString(record.GetProperty(filter).GetString()!)}";
    }

    private Uri Path(string account, string path) => new(harness.PlatformUrl, $"/accounts/{account}{path}");

    private static HttpRequestMessage Request(HttpMethod method, Uri uri, string token, object? body = null, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(method, uri) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return request;
    }

    private static IEnumerable<string> Query(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return reader.GetString(0);
        }
    }

    private static long Count(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
