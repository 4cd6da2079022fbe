using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>The local Cloudflare v4 API: resources, script upload with bindings, envelopes and errors.</summary>
[Collection(HarnessCollection.Name)]
public sealed class ControlPlaneTests(HarnessFixture harness) : IAsyncLifetime
{
    private readonly List<string> _scripts = [];
    private readonly List<string> _buckets = [];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Every script (and bucket) a test uploaded goes when it is done: no stack is left running for the others.</summary>
    public async Task DisposeAsync()
    {
        foreach (var script in _scripts)
        {
            await CallAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{script}");
        }
        foreach (var bucket in _buckets)
        {
            await CallAsync(HttpMethod.Delete, $"{Account}/r2/buckets/{bucket}");
        }
    }

    private Task<(HttpStatusCode Status, JsonElement Envelope)> UploadScriptAsync(string name, string module, object[] bindings)
    {
        _scripts.Add(name);
        return harness.UploadScriptAsync(name, module, bindings);
    }

    private ControlPlaneServer Server => harness.ControlPlane;

    private Task<(HttpStatusCode Status, JsonElement Envelope)> CallAsync(HttpMethod method, string path, object? body = null,
        string? token = null, HttpContent? content = null, string? jurisdiction = null) =>
        harness.CloudflareAsync(method, path, body, token, content, jurisdiction);

    private string Account => $"accounts/{Server.AccountId}";

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..30];

    [Fact]
    public async Task D1_databases_are_created_in_the_EU_listed_read_and_deleted()
    {
        var name = Unique("db");
        var (status, created) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name, jurisdiction = "eu" });
        Assert.Equal(HttpStatusCode.OK, status);
        var uuid = created.GetProperty("result").GetProperty("uuid").GetString()!;
        Assert.Equal("eu", created.GetProperty("result").GetProperty("jurisdiction").GetString());

        var (_, list) = await CallAsync(HttpMethod.Get, $"{Account}/d1/database");
        Assert.Contains(list.GetProperty("result").EnumerateArray(), d => d.GetProperty("uuid").GetString() == uuid);
        var (duplicateStatus, duplicate) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name, jurisdiction = "eu" });
        Assert.Equal(HttpStatusCode.Conflict, duplicateStatus);
        Assert.False(duplicate.GetProperty("success").GetBoolean());

        Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{uuid}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await CallAsync(HttpMethod.Get, $"{Account}/d1/database/{uuid}")).Status);
    }

    [Fact]
    public async Task R2_buckets_record_their_jurisdiction_and_KV_namespaces_their_title()
    {
        var bucket = Unique("bucket");
        var (status, created) = await CallAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = bucket }, jurisdiction: "eu");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("eu", created.GetProperty("result").GetProperty("jurisdiction").GetString());

        var title = Unique("cache");
        var (kvStatus, kv) = await CallAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title });
        Assert.Equal(HttpStatusCode.OK, kvStatus);
        var id = kv.GetProperty("result").GetProperty("id").GetString()!;
        Assert.Equal(title, kv.GetProperty("result").GetProperty("title").GetString());
        var (_, listed) = await CallAsync(HttpMethod.Get, $"{Account}/storage/kv/namespaces?per_page=100");
        Assert.Equal(title, listed.GetProperty("result").EnumerateArray().Single(n => n.GetProperty("id").GetString() == id).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{id}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Delete, $"{Account}/r2/buckets/{bucket}")).Status);
    }

    [Fact]
    public async Task Lists_page_as_Cloudflare_pages_them_and_a_page_past_the_end_is_empty()
    {
        var titles = Enumerable.Range(0, 3).Select(i => Unique($"paged-{i}")).ToList();
        var ids = new List<string>();
        foreach (var title in titles)
        {
            ids.Add((await CallAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title })).Envelope.GetProperty("result").GetProperty("id").GetString()!);
        }
        try
        {
            // Page by page with 2 a page, as wrangler and the official client do, until a short page.
            var seen = new List<string>();
            var pages = 0;
            for (var page = 1; ; page++)
            {
                var (status, envelope) = await CallAsync(HttpMethod.Get, $"{Account}/storage/kv/namespaces?page={page}&per_page=2");
                Assert.Equal(HttpStatusCode.OK, status);
                var info = envelope.GetProperty("result_info");
                Assert.Equal(page, info.GetProperty("page").GetInt32());
                Assert.Equal(2, info.GetProperty("per_page").GetInt32());
                var items = envelope.GetProperty("result").EnumerateArray().Select(n => n.GetProperty("id").GetString()!).ToList();
                Assert.Equal(items.Count, info.GetProperty("count").GetInt32());
                seen.AddRange(items);
                pages++;
                if (items.Count < 2)
                {
                    Assert.Equal(info.GetProperty("total_count").GetInt32(), seen.Count);
                    break;
                }
            }
            Assert.Equal(seen.Count, seen.Distinct().Count());
            Assert.All(ids, id => Assert.Contains(id, seen));
            Assert.True(pages >= 2);

            // Ordered as wrangler asks (per_page=1000&order=title&direction=asc), or the other way.
            var (_, ordered) = await CallAsync(HttpMethod.Get, $"{Account}/storage/kv/namespaces?per_page=1000&order=title&direction=desc");
            var orderedTitles = ordered.GetProperty("result").EnumerateArray().Select(n => n.GetProperty("title").GetString()!).ToList();
            Assert.Equal(orderedTitles.OrderDescending(StringComparer.Ordinal), orderedTitles);
            Assert.All(titles, t => Assert.Contains(t, orderedTitles));

            var (_, beyond) = await CallAsync(HttpMethod.Get, $"{Account}/storage/kv/namespaces?page=9999&per_page=2");
            Assert.Empty(beyond.GetProperty("result").EnumerateArray());
            var (_, databases) = await CallAsync(HttpMethod.Get, $"{Account}/d1/database?page=9999");
            Assert.Empty(databases.GetProperty("result").EnumerateArray());
        }
        finally
        {
            foreach (var id in ids)
            {
                await CallAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{id}");
            }
        }
    }

    [Theory]
    [InlineData("storage/kv/namespaces?per_page=0", "per_page")]
    [InlineData("storage/kv/namespaces?per_page=1001", "per_page")]
    [InlineData("storage/kv/namespaces?order=size", "order")]
    [InlineData("storage/kv/namespaces?order=title&direction=up", "direction")]
    [InlineData("storage/kv/namespaces?page=0", "page")]
    [InlineData("d1/database?page=two", "page")]
    [InlineData("d1/database?per_page=-5", "per_page")]
    public async Task A_bad_page_or_page_size_is_a_400_naming_it(string path, string field)
    {
        var (status, envelope) = await CallAsync(HttpMethod.Get, $"{Account}/{path}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith($"{field}:", envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_account_is_listed_as_clients_find_it_before_they_know_its_id()
    {
        var (status, listed) = await CallAsync(HttpMethod.Get, "accounts");
        Assert.Equal(HttpStatusCode.OK, status);
        var only = Assert.Single(listed.GetProperty("result").EnumerateArray());
        Assert.Equal(harness.ControlPlane.AccountId, only.GetProperty("id").GetString());
        Assert.Equal(1, listed.GetProperty("result_info").GetProperty("total_count").GetInt32());

        var (_, one) = await CallAsync(HttpMethod.Get, Account);
        Assert.Equal(harness.ControlPlane.AccountId, one.GetProperty("result").GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync(HttpMethod.Get, "accounts", token: "wrong")).Status);
    }

    [Fact]
    public async Task An_unknown_route_answers_in_Cloudflare_s_envelope()
    {
        var (status, envelope) = await CallAsync(HttpMethod.Get, $"{Account}/no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.False(envelope.GetProperty("success").GetBoolean());
        Assert.Equal(7000, envelope.GetProperty("errors")[0].GetProperty("code").GetInt32());
    }

    [Theory]
    [InlineData("d1/database", "{}", "name")]
    [InlineData("d1/database", "{\"name\": \"Bad Name!\"}", "name")]
    [InlineData("d1/database", "{\"name\": \"ok\", \"jurisdiction\": \"us\"}", "jurisdiction")]
    [InlineData("d1/database", "not json", "name")]
    [InlineData("r2/buckets", "{\"name\": \"UPPER\"}", "name")]
    [InlineData("storage/kv/namespaces", "{}", "title")]
    public async Task Malformed_requests_get_a_Cloudflare_error_naming_the_field(string path, string json, string field)
    {
        var (status, envelope) = await CallAsync(HttpMethod.Post, $"{Account}/{path}", content: new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(envelope.GetProperty("success").GetBoolean());
        Assert.StartsWith(field, envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_without_the_token_or_for_another_account_are_refused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync(HttpMethod.Get, $"{Account}/d1/database", token: "wrong")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallAsync(HttpMethod.Get, "accounts/0123456789abcdef0123456789abcdef/d1/database")).Status);
    }

    [Fact]
    public async Task A_database_no_Worker_binds_answers_the_query_API_and_hands_over_to_the_Worker_that_binds_it()
    {
        var db = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = Unique("workerless"), jurisdiction = "eu" })).Envelope
            .GetProperty("result").GetProperty("uuid").GetString()!;
        var host = Cloudflare.Emulation.ControlPlane.ResourceHosts.HostName(Cloudflare.Emulation.ControlPlane.ResourceRef.Database(db));
        var script = Unique("binds-later");
        try
        {
            // As at Cloudflare (wrangler d1 execute --remote): no Worker needed.
            var (created, why) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/query",
                new { sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, value TEXT);\nINSERT INTO notes (id, value) VALUES (1, 'before any Worker');" });
            Assert.True(created == HttpStatusCode.OK, why.ToString());
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find(host)!.State);

            // A Worker that binds it takes over the same data; the database's own host lets go.
            var (uploaded, upload) = await UploadScriptAsync(script, """
                export default {
                  async fetch(request, env) {
                    return Response.json(await env.DB.prepare("SELECT value FROM notes WHERE id = 1").first());
                  },
                };
                """, [new { type = "d1", name = "DB", id = db }]);
            Assert.True(uploaded == HttpStatusCode.OK, upload.ToString());
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Stopped, harness.Supervisor.Find(host)!.State);
            var served = await harness.Http.GetFromJsonAsync<JsonElement>(harness.Supervisor.Find(script)!.Url);
            Assert.Equal("before any Worker", served.GetProperty("value").GetString());

            var (_, select) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/query", new { sql = "SELECT count(*) AS n FROM notes" });
            Assert.Equal(1, select.GetProperty("result")[0].GetProperty("results")[0].GetProperty("n").GetInt32());
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Stopped, harness.Supervisor.Find(host)!.State);
        }
        finally
        {
            await CallAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{script}");
            Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{db}")).Status);
        }
        Assert.NotEqual(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find(host)!.State);
    }

    [Fact]
    public async Task An_uploaded_script_runs_with_exactly_its_bindings_and_its_D1_answers_the_query_API()
    {
        var db = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = Unique("tenant-db"), jurisdiction = "eu" })).Envelope
            .GetProperty("result").GetProperty("uuid").GetString()!;
        var bucket = Unique("tenant-docs");
        await CallAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = bucket }, jurisdiction: "eu");
        var script = Unique("tenant");

        var (status, upload) = await UploadScriptAsync(script, """
            export default {
              async fetch(request, env) {
                const row = await env.DB.prepare("SELECT value FROM notes WHERE id = 1").first();
                return Response.json({ note: row?.value ?? null, bindings: Object.keys(env).sort() });
              },
            };
            """, [new { type = "d1", name = "DB", id = db }, new { type = "r2_bucket", name = "FILES", bucket_name = bucket, jurisdiction = "eu" },
                  new { type = "plain_text", name = "TENANT", text = "acme" }]);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(upload.GetProperty("success").GetBoolean(), upload.ToString());

        var (migrated, _) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/query",
            new { sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, value TEXT);\nINSERT INTO notes (id, value) VALUES (1, 'hello');" });
        Assert.Equal(HttpStatusCode.OK, migrated);
        var (_, select) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/query", new { sql = "SELECT value FROM notes WHERE id = ?", @params = new[] { 1 } });
        Assert.Equal("hello", select.GetProperty("result")[0].GetProperty("results")[0].GetProperty("value").GetString());
        // Parameters belong to one statement: with several, they are refused, not dropped.
        var (refused, why) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/query",
            new { sql = "UPDATE notes SET value = ? WHERE id = 1;\nSELECT value FROM notes;", @params = new[] { "changed" } });
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Contains("params: only a single statement takes parameters", why.ToString(), StringComparison.Ordinal);

        var served = await harness.Http.GetFromJsonAsync<JsonElement>(harness.Supervisor.Find(script)!.Url);
        Assert.Equal("hello", served.GetProperty("note").GetString());
        Assert.Equal(["DB", "FILES", "TENANT"], served.GetProperty("bindings").EnumerateArray().Select(b => b.GetString()));

        // Bound resources cannot be deleted from under a running script; after the script goes, they can.
        Assert.Equal(HttpStatusCode.Conflict, (await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{db}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{script}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{db}")).Status);
    }

    [Theory]
    [InlineData("d1-unknown")]
    [InlineData("jurisdiction-mismatch")]
    [InlineData("unsupported-type")]
    public async Task A_script_whose_bindings_do_not_match_real_resources_is_refused(string problem)
    {
        var bucket = Unique("docs");
        _buckets.Add(bucket);
        await CallAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = bucket }, jurisdiction: "eu");
        object binding = problem switch
        {
            "d1-unknown" => new { type = "d1", name = "DB", id = Guid.NewGuid().ToString() },
            "jurisdiction-mismatch" => new { type = "r2_bucket", name = "FILES", bucket_name = bucket },
            _ => new { type = "durable_object_namespace", name = "DO" },
        };
        var (status, envelope) = await UploadScriptAsync(Unique("bad"), "export default { fetch() { return new Response('x') } };", [binding]);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("bindings.", envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("under_score")]
    [InlineData("Upper")]
    [InlineData("-leading-dash")]
    [InlineData("dots.in.it")]
    public async Task A_script_name_that_cannot_be_a_stack_is_refused_before_anything_is_stored(string name)
    {
        var (status, envelope) = await UploadScriptAsync(name, "export default { fetch() { return new Response('x') } };", []);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("script_name:", envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Server.Store.Snapshot.Scripts, s => s.Name == name);
        Assert.False(File.Exists(Server.Store.ScriptPath(name)));
    }

    [Fact]
    public async Task A_script_reaches_another_by_its_workers_dev_name()
    {
        var target = Unique("target");
        Assert.Equal(HttpStatusCode.OK, (await UploadScriptAsync(target, "export default { fetch(r) { return new Response('pong ' + new URL(r.url).pathname) } };", [])).Item1);
        var (_, subdomain) = await CallAsync(HttpMethod.Get, $"{Account}/workers/subdomain");
        var host = $"{target}.{subdomain.GetProperty("result").GetProperty("subdomain").GetString()}.workers.dev";
        var caller = Unique("caller");
        var code = "export default { async fetch() { return fetch('https://" + host + "/ping'); } };";
        Assert.Equal(HttpStatusCode.OK, (await UploadScriptAsync(caller, code, [])).Item1);

        Assert.Equal("pong /ping", await harness.Http.GetStringAsync(harness.Supervisor.Find(caller)!.Url));
    }

    [Fact]
    public async Task Bad_input_to_the_kv_r2_d1_and_deploy_routes_is_refused_naming_the_field_and_changes_nothing()
    {
        var ns = (await CallAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title = Unique("bad-kv") })).Envelope.GetProperty("result").GetProperty("id").GetString();
        var db = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = Unique("bad-d1"), jurisdiction = "eu" })).Envelope.GetProperty("result").GetProperty("uuid").GetString();
        var bucket = Unique("bad-r2");
        _buckets.Add(bucket);
        await CallAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = bucket }, jurisdiction: "eu");
        var script = Unique("bad-deploy");
        Assert.Equal(HttpStatusCode.OK, (await UploadScriptAsync(script, "export default { fetch() { return new Response('ok'); } };", [])).Status);
        try
        {
            async Task Refused(HttpStatusCode status, string field, HttpMethod method, string path, object? body = null, HttpContent? content = null, string? jurisdiction = null)
            {
                var (code, envelope) = await CallAsync(method, path, body, content: content, jurisdiction: jurisdiction);
                Assert.Equal(status, code);
                Assert.False(envelope.GetProperty("success").GetBoolean());
                Assert.Contains(field, envelope.GetProperty("errors")[0].GetProperty("message").GetString());
            }
            var kv = $"{Account}/storage/kv/namespaces/{ns}";
            await Refused(HttpStatusCode.BadRequest, "key", HttpMethod.Put, $"{kv}/values/{new string('k', 513)}", content: new StringContent("v"));
            await Refused(HttpStatusCode.BadRequest, "expiration_ttl", HttpMethod.Put, $"{kv}/values/k?expiration_ttl=5", content: new StringContent("v"));
            await Refused(HttpStatusCode.BadRequest, "[1].value", HttpMethod.Put, $"{kv}/bulk", new object[] { new { key = "a", value = "1" }, new { key = "b" } });
            await Refused(HttpStatusCode.BadRequest, "keys", HttpMethod.Post, $"{kv}/bulk/get", new { keys = Array.Empty<string>() });
            await Refused(HttpStatusCode.BadRequest, "limit", HttpMethod.Get, $"{kv}/keys?limit=5");
            await Refused(HttpStatusCode.NotFound, "namespace", HttpMethod.Get, $"{Account}/storage/kv/namespaces/{Guid.NewGuid():N}/values/k");
            await Refused(HttpStatusCode.BadRequest, "[1].key", HttpMethod.Post, $"{kv}/bulk/delete", new[] { "fine", "" });
            await Refused(HttpStatusCode.BadRequest, "name", HttpMethod.Post, $"{Account}/d1/database", new { name = 5 });
            // Nothing of the refused writes landed.
            Assert.Empty((await CallAsync(HttpMethod.Get, $"{kv}/keys")).Envelope.GetProperty("result").EnumerateArray());

            var objects = $"{Account}/r2/buckets/{bucket}/objects";
            await Refused(HttpStatusCode.NotFound, "bucket does not exist", HttpMethod.Put, $"{objects}/k", content: new StringContent("v"));
            await Refused(HttpStatusCode.BadRequest, "key", HttpMethod.Put, $"{objects}/{new string('k', 1025)}", content: new StringContent("v"), jurisdiction: "eu");

            var d1 = $"{Account}/d1/database/{db}";
            await Refused(HttpStatusCode.BadRequest, "output_format", HttpMethod.Post, $"{d1}/export", new { });
            await Refused(HttpStatusCode.BadRequest, "filename", HttpMethod.Post, $"{d1}/import", new { action = "ingest", filename = "never-uploaded.sql" });
            await Refused(HttpStatusCode.BadRequest, "action", HttpMethod.Post, $"{d1}/import", new { action = "upload" });
            await Refused(HttpStatusCode.BadRequest, "sql", HttpMethod.Post, $"{d1}/raw", new { sql = "SELEC nonsense" });

            var worker = $"{Account}/workers/scripts/{script}";
            var version = (await CallAsync(HttpMethod.Get, $"{worker}/deployments")).Envelope.GetProperty("result").GetProperty("deployments")[0].GetProperty("id").GetString();
            await Refused(HttpStatusCode.BadRequest, "versions", HttpMethod.Post, $"{worker}/deployments",
                new { strategy = "percentage", versions = new[] { new { version_id = version, percentage = 50 }, new { version_id = version, percentage = 50 } } });
            await Refused(HttpStatusCode.BadRequest, "text", HttpMethod.Put, $"{worker}/secrets", new { name = "API_KEY" });
            await Refused(HttpStatusCode.BadRequest, "text", HttpMethod.Put, $"{worker}/secrets", new { name = "API_KEY", text = 5 });
            await Refused(HttpStatusCode.NotFound, "secret", HttpMethod.Delete, $"{worker}/secrets/NEVER_SET");
            await Refused(HttpStatusCode.NotFound, "Worker does not exist", HttpMethod.Get, $"{Account}/workers/services/{Unique("never-deployed")}");
            Assert.Empty((await CallAsync(HttpMethod.Get, $"{worker}/secrets")).Envelope.GetProperty("result").EnumerateArray());
        }
        finally
        {
            await CallAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{ns}");
            await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{db}");
        }
    }

    [Fact]
    public async Task D1_transfer_urls_answer_only_for_what_they_were_issued()
    {
        var db = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = Unique("transfer"), jurisdiction = "eu" })).Envelope.GetProperty("result").GetProperty("uuid").GetString();
        var other = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = Unique("transfer-other"), jurisdiction = "eu" })).Envelope.GetProperty("result").GetProperty("uuid").GetString();
        try
        {
            var init = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/import", new { action = "init", etag = "x" })).Envelope.GetProperty("result");
            var uploadUrl = init.GetProperty("upload_url").GetString()!;
            var filename = init.GetProperty("filename").GetString()!;

            // A name the API never issued takes no upload; an issued import name is not a download.
            var forged = uploadUrl.Replace(filename, new string('a', 48) + ".sql", StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await harness.Http.PutAsync(forged, new StringContent("SELECT 1;"))).StatusCode);
            using var upload = await harness.Http.PutAsync(uploadUrl, new StringContent("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7);"));
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await harness.Http.GetAsync(uploadUrl)).StatusCode);

            // Issued for one database, it is no import into another.
            var (status, envelope) = await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{other}/import", new { action = "ingest", filename, etag = "x" });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("filename", envelope.GetProperty("errors")[0].GetProperty("message").GetString());

            var ingested = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/import", new { action = "ingest", filename, etag = "x" })).Envelope.GetProperty("result");
            Assert.Equal("complete", ingested.GetProperty("status").GetString());
            var rows = (await CallAsync(HttpMethod.Post, $"{Account}/d1/database/{db}/query", new { sql = "SELECT v FROM t" })).Envelope.GetProperty("result")[0].GetProperty("results");
            Assert.Equal(7, rows[0].GetProperty("v").GetInt32());
        }
        finally
        {
            await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{db}");
            await CallAsync(HttpMethod.Delete, $"{Account}/d1/database/{other}");
        }
    }

    [Fact]
    public async Task A_bucket_whose_own_stack_would_take_a_Workers_name_is_refused()
    {
        var bucket = Unique("taken");
        var worker = $"r2-{bucket}";
        Assert.Equal(HttpStatusCode.OK, (await UploadScriptAsync(worker, "export default { fetch() { return new Response('tenant worker'); } };", [])).Status);

        var (status, envelope) = await CallAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = bucket }, jurisdiction: "eu");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains(worker, envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Equal("tenant worker", await harness.Http.GetStringAsync(harness.Supervisor.Find(worker)!.Url));
    }

    [Fact]
    public async Task Pending_versions_are_kept_per_script_and_another_scripts_uploads_never_push_them_out()
    {
        var first = Unique("versions-a");
        var second = Unique("versions-b");
        Assert.Equal(HttpStatusCode.OK, (await UploadScriptAsync(first, "export default { fetch() { return new Response('a1'); } };", [])).Status);
        Assert.Equal(HttpStatusCode.OK, (await UploadScriptAsync(second, "export default { fetch() { return new Response('b1'); } };", [])).Status);

        // Two pending versions of the first script (the older one is still deployable), then more of
        // another script's than a script keeps.
        var pending = await UploadVersionAsync(first, "a2");
        await UploadVersionAsync(first, "a3");
        for (var i = 0; i < 12; i++)
        {
            await UploadVersionAsync(second, $"b{i + 2}");
        }
        var (status, _) = await CallAsync(HttpMethod.Post, $"{Account}/workers/scripts/{first}/deployments",
            new { strategy = "percentage", versions = new[] { new { version_id = pending, percentage = 100 } } });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("a2", await harness.Http.GetStringAsync(harness.Supervisor.Find(first)!.Url));
    }

    /// <summary>Uploads a version of a script without deploying it (wrangler deploy's first step); its id.</summary>
    private async Task<string> UploadVersionAsync(string script, string answer)
    {
        var form = new MultipartFormDataContent();
        form.Add(new StringContent(JsonSerializer.Serialize(new { main_module = "index.js", compatibility_date = "2026-07-01" }), Encoding.UTF8, "application/json"), "metadata", "metadata.json");
        var code = new StringContent($"export default {{ fetch() {{ return new Response('{answer}'); }} }};");
        code.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/javascript+module");
        form.Add(code, "index.js", "index.js");
        var (status, envelope) = await CallAsync(HttpMethod.Post, $"{Account}/workers/scripts/{script}/versions", content: form);
        Assert.Equal(HttpStatusCode.OK, status);
        return envelope.GetProperty("result").GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task An_unbound_resources_own_stack_is_stopped_when_idle_and_started_again_with_its_data()
    {
        var ns = (await CallAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title = Unique("idle") })).Envelope.GetProperty("result").GetProperty("id").GetString()!;
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await CallAsync(HttpMethod.Put, $"{Account}/storage/kv/namespaces/{ns}/values/kept", content: new StringContent("still here"))).Status);
            var host = ResourceHosts.HostName(ResourceRef.Namespace(ns));
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find(host)!.State);

            Assert.True(await Server.Deployer.Hosts.StopIdleAsync(TimeSpan.Zero, CancellationToken.None) >= 1);

            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Stopped, harness.Supervisor.Find(host)!.State);
            using var value = await harness.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(Server.BaseUrl, $"{Account}/storage/kv/namespaces/{ns}/values/kept"))
            {
                Headers = { Authorization = new("Bearer", Server.ApiToken) },
            });
            Assert.Equal("still here", await value.Content.ReadAsStringAsync());
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find(host)!.State);
        }
        finally
        {
            await CallAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{ns}");
        }
    }
}
