using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Cloudflare.Emulation.Chaos;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// The chaos API beyond D1, observed from inside a Worker: R2 and KV errors as their bindings throw
/// them (and R2's through the S3 API), a failed Worker as the edge answers it, whole-service latency
/// (effects), and KV's propagation delay — each only where the setting says.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class ChaosBindingFaultTests(HarnessFixture harness) : IAsyncLifetime
{
    private readonly string _script = $"chaos-b-{Guid.NewGuid():N}"[..24];
    private string _bucket = "";
    private string _namespace = "";

    // Runs one R2 or KV operation (by path) and answers what the Worker saw: the value, or the error.
    private const string Probe = """
        const ops = {
          "/r2/put": (env) => env.FILES.put("a.txt", "bytes").then((o) => o.key),
          "/r2/get": (env) => env.FILES.get("a.txt").then((o) => o && o.text()),
          "/kv/put": (env) => env.CACHE.put("k", "v1").then(() => "put"),
          "/kv/get": (env) => env.CACHE.get("k"),
          "/kv/delete": (env) => env.CACHE.delete("k").then(() => "deleted"),
          "/egress": (env, url) => fetch(url.searchParams.get("to")).then(async (r) => ({ status: r.status, text: (await r.text()).slice(0, 200) })),
          "/": () => "ok",
        };
        export default {
          async fetch(request, env) {
            try {
              const url = new URL(request.url);
              return Response.json({ value: await ops[url.pathname](env, url) });
            } catch (error) {
              return Response.json({ name: error.name, message: error.message, code: error.code ?? null }, { status: 500 });
            }
          },
        };
        """;

    private string Account => $"accounts/{harness.ControlPlane.AccountId}";

    public async Task InitializeAsync()
    {
        _bucket = _script;
        Assert.Equal(HttpStatusCode.OK, (await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/r2/buckets", new { name = _bucket }, jurisdiction: "eu")).Status);
        _namespace = (await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title = _script }))
            .Envelope.GetProperty("result").GetProperty("id").GetString()!;
        var (status, envelope) = await harness.UploadScriptAsync(_script, Probe,
            [new { type = "r2_bucket", name = "FILES", bucket_name = _bucket, jurisdiction = "eu" }, new { type = "kv_namespace", name = "CACHE", namespace_id = _namespace }]);
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
    }

    public async Task DisposeAsync()
    {
        await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", Array.Empty<object>());
        await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/effects", new { });
        await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/kv-staleness", Array.Empty<object>());
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{_script}");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/r2/buckets/{_bucket}", jurisdiction: "eu");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{_namespace}");
    }

    private async Task RulesAsync(params object[] rules)
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", rules);
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
    }

    private async Task<(HttpStatusCode Status, string Body)> ProbeAsync(string path)
    {
        using var response = await harness.Http.GetAsync(new Uri(new Uri(harness.Supervisor.Find(_script)!.Url!), path));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Every_r2_catalogue_error_reaches_the_Worker_as_the_binding_throws_it()
    {
        foreach (var error in FaultCatalogue.Errors.Where(e => e.Service == "r2"))
        {
            await RulesAsync(new { stack = _script, service = "r2", operation = "put", error = error.Name, times = 1 });

            var (status, body) = await ProbeAsync("/r2/put");
            Assert.Equal(HttpStatusCode.InternalServerError, status);
            var seen = JsonDocument.Parse(body).RootElement;
            Assert.Equal($"put: {error.Message} ({error.Code})", seen.GetProperty("message").GetString());
            Assert.Equal("R2Error", seen.GetProperty("name").GetString());
            Assert.Equal(error.Code, seen.GetProperty("code").GetInt32());

            // times: 1 — the next put reaches the bucket, and reads were never touched.
            Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/r2/put")).Status);
            Assert.Contains("bytes", (await ProbeAsync("/r2/get")).Body);
        }
    }

    private async Task<(AmazonS3Client Client, string Bucket)> S3Async(string account)
    {
        using var response = await harness.AdminAsync(HttpMethod.Get, $"/admin/accounts/{account}/r2-credentials");
        var credentials = await AccountApi.ReadAsync(response, HttpStatusCode.OK);
        var client = new AmazonS3Client(
            new BasicAWSCredentials(credentials.GetProperty("accessKeyId").GetString(), credentials.GetProperty("secretAccessKey").GetString()),
            new AmazonS3Config
            {
                ServiceURL = credentials.GetProperty("endpoint").GetString(),
                ForcePathStyle = true,
                AuthenticationRegion = "auto",
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
                MaxErrorRetry = 0,
            });
        return (client, credentials.GetProperty("bucket").GetString()!);
    }

    private static PutObjectRequest Put(string bucket) => new() { BucketName = bucket, Key = "chaos.txt", ContentBody = "x", UseChunkEncoding = false };

    [Fact]
    public async Task An_r2_rule_meets_the_S3_API_as_R2_answers_it_for_that_tenants_bucket_only()
    {
        var (faulted, faultedBucket) = await S3Async("account-1");
        var (other, otherBucket) = await S3Async("account-2");
        using (faulted)
        using (other)
        {
            await RulesAsync(new { stack = HarnessFixture.StackOf("account-1"), service = "r2", operation = "put", error = "r2-too-many-requests" });

            var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => faulted.PutObjectAsync(Put(faultedBucket)));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("TooManyRequests", refused.ErrorCode);
            // The same rule, still armed, is nothing to the other tenant's bucket.
            await other.PutObjectAsync(Put(otherBucket));
            await other.DeleteObjectAsync(otherBucket, "chaos.txt");

            await RulesAsync();
            await faulted.PutObjectAsync(Put(faultedBucket));
            await faulted.DeleteObjectAsync(faultedBucket, "chaos.txt");
        }
    }

    [Fact]
    public async Task A_kv_rate_limit_fails_puts_with_the_bindings_text_and_leaves_reads_alone()
    {
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/kv/put")).Status);
        await RulesAsync(new { stack = _script, service = "kv", operation = "put", error = "kv-put-rate-limited" });

        var (status, body) = await ProbeAsync("/kv/put");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("KV PUT failed: 429 Too Many Requests", JsonDocument.Parse(body).RootElement.GetProperty("message").GetString());
        Assert.Contains("v1", (await ProbeAsync("/kv/get")).Body);
    }

    [Fact]
    public async Task A_failed_Worker_is_answered_as_the_edge_answers_it_and_other_tenants_serve_on()
    {
        foreach (var error in FaultCatalogue.Errors.Where(e => e.Service == "worker"))
        {
            await RulesAsync(new { stack = _script, service = "worker", operation = "fetch", error = error.Name, times = 1 });

            var (status, body) = await ProbeAsync("/");
            Assert.Equal((HttpStatusCode)error.Status!, status);
            Assert.Equal($"error code: {error.Code}", body);
            using var other = await harness.AsOwner("account-1").SendAsync(HttpMethod.Get, "/api/clients");
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);

            Assert.Equal((HttpStatusCode.OK, """{"value":"ok"}"""), await ProbeAsync("/"));
        }
    }

    [Fact]
    public async Task The_account_answers_an_R2_outage_during_an_upload_as_a_503_with_Retry_After_and_keeps_nothing_of_it()
    {
        const string account = "account-1";
        var owner = harness.AsOwner(account);
        var clientId = await new SampleRecords(owner).ClientAsync();
        var name = $"outage-{Guid.NewGuid():N}.txt";
        await RulesAsync(new { stack = HarnessFixture.StackOf(account), service = "r2", operation = "put", error = "r2-service-unavailable", times = 1 });

        using var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes("a letter"));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        using (var upload = await owner.SendAsync(HttpMethod.Post, $"/api/documents?name={name}&clientId={clientId}", content: content))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, upload.StatusCode);
            Assert.Equal("1", upload.Headers.GetValues("retry-after").Single());
            Assert.Equal("storage_unavailable", JsonDocument.Parse(await upload.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
        using var listed = await owner.SendAsync(HttpMethod.Get, $"/api/documents?clientId={clientId}");
        Assert.DoesNotContain(name, await listed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_kv_rate_limit_on_the_role_cache_fails_no_request()
    {
        const string account = "account-1";
        await RulesAsync(new { stack = HarnessFixture.StackOf(account), service = "kv", operation = "put", error = "kv-put-rate-limited" });

        // A user's first read reads the role from D1 and fills the cache: the fill is refused.
        var (_, user) = await harness.UserAsync(account, "staff");
        using var clients = await user.SendAsync(HttpMethod.Get, "/api/clients?limit=1");

        Assert.Equal(HttpStatusCode.OK, clients.StatusCode);
        // …as the account's workerd says: the rule did fire.
        var held = await harness.Supervisor.FaultsAsync(HarnessFixture.StackOf(account), CancellationToken.None);
        Assert.True(held.GetProperty("bindings").GetProperty("CACHE").GetProperty("rules")[0].GetProperty("fired").GetInt32() >= 1, held.ToString());
    }

    [Fact]
    public async Task A_route_rule_cuts_the_platforms_calls_to_one_tenant_and_an_egress_rule_one_stacks_fetches_beyond_the_harness()
    {
        await RulesAsync(
            new { stack = HarnessFixture.StackOf("account-1"), service = "route", operation = "fetch", error = "route-connection-lost" },
            new { stack = _script, service = "egress", operation = "fetch", error = "egress-connection-lost" });

        using (var cut = await harness.AsOwner("account-1").SendAsync(HttpMethod.Get, "/api/clients?limit=1"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, cut.StatusCode);
            Assert.Contains("Network connection lost.", await cut.Content.ReadAsStringAsync());
        }
        using (var other = await harness.AsOwner("account-2").SendAsync(HttpMethod.Get, "/api/clients?limit=1"))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }
        // The stack itself still answers on its own port: only the route to it is cut.
        Assert.Equal(HttpStatusCode.OK, (await harness.Http.GetAsync(new Uri(new Uri(harness.Supervisor.Find(HarnessFixture.StackOf("account-1"))!.Url!), "/healthz"))).StatusCode);

        var api = Uri.EscapeDataString(new Uri(harness.ControlPlane.BaseUrl, "user/tokens/verify").ToString());
        var (_, egress) = await ProbeAsync($"/egress?to={api}");
        var seen = JsonDocument.Parse(egress).RootElement.GetProperty("value");
        Assert.Equal(502, seen.GetProperty("status").GetInt32());
        Assert.Contains("Network connection lost.", seen.GetProperty("text").GetString());

        await RulesAsync();
        Assert.Equal(HttpStatusCode.OK, (await harness.AsOwner("account-1").SendAsync(HttpMethod.Get, "/api/clients?limit=1")).StatusCode);
        var (_, after) = await ProbeAsync($"/egress?to={api}");
        Assert.NotEqual(502, JsonDocument.Parse(after).RootElement.GetProperty("value").GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task An_effect_slows_every_call_of_its_service_and_no_other()
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/effects", new { kv = new { latencyMs = 400 } });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());

        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/kv/get")).Status);
        Assert.True(clock.ElapsedMilliseconds >= 380, $"KV read took {clock.ElapsedMilliseconds} ms");

        clock.Restart();
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/r2/get")).Status);
        Assert.True(clock.ElapsedMilliseconds < 380, $"R2 read took {clock.ElapsedMilliseconds} ms");

        await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/effects", new { });
        clock.Restart();
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/kv/get")).Status);
        Assert.True(clock.ElapsedMilliseconds < 380, $"KV read took {clock.ElapsedMilliseconds} ms after clearing");
    }

    [Fact]
    public async Task With_a_propagation_delay_a_deleted_key_reads_as_before_until_the_delay_has_passed()
    {
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/kv/put")).Status);
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/kv-staleness",
            new[] { new { stack = _script, binding = "CACHE", delayMs = 1500 } });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());

        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync("/kv/delete")).Status);
        var deleted = Stopwatch.StartNew();
        Assert.Equal("""{"value":"v1"}""", (await ProbeAsync("/kv/get")).Body);
        while (deleted.ElapsedMilliseconds < 1600)
        {
            await Task.Delay(100);
        }
        Assert.Equal("""{"value":null}""", (await ProbeAsync("/kv/get")).Body);
    }

    public static TheoryData<string, string, string> BadSettings() => new()
    {
        { "/__emulator/chaos/faults", """[{"stack":"*","service":"kv","operation":"get","error":"kv-put-rate-limited"}]""", "[0].operation" },
        { "/__emulator/chaos/faults", """[{"stack":"*","service":"r2","operation":"query","latencyMs":5}]""", "[0].operation" },
        { "/__emulator/chaos/faults", """[{"stack":"*","service":"worker","error":"r2-internal-error"}]""", "[0].error" },
        { "/__emulator/chaos/effects", """{"queues":{"latencyMs":5}}""", "queues" },
        { "/__emulator/chaos/effects", """{"d1":{"latencyMs":-1}}""", "d1.latencyMs" },
        { "/__emulator/chaos/effects", """{"d1":{"latencyMs":"slow"}}""", "d1.latencyMs" },
        { "/__emulator/chaos/kv-staleness", """[{"stack":"no-such-stack","delayMs":1000}]""", "[0].stack" },
        { "/__emulator/chaos/kv-staleness", """[{"stack":"platform","binding":"NOPE","delayMs":1000}]""", "[0].binding" },
        { "/__emulator/chaos/kv-staleness", """[{"stack":"platform","delayMs":-5}]""", "[0].delayMs" },
        { "/__emulator/chaos/kv-staleness", """[{"stack":"platform","probability":2}]""", "[0].probability" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task A_bad_setting_is_refused_naming_its_field_and_changes_nothing(string path, string body, string field)
    {
        var before = (await harness.CloudflareAsync(HttpMethod.Get, path)).Envelope.GetProperty("result").GetRawText();

        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, path, content: new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(field, envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Equal(before, (await harness.CloudflareAsync(HttpMethod.Get, path)).Envelope.GetProperty("result").GetRawText());
    }
}
