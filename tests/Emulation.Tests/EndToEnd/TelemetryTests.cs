using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>A harness whose telemetry goes to an OTLP receiver in the test (as it goes to the dashboard's).</summary>
public sealed class TelemetryHarnessFixture : HarnessFixture
{
    public OtlpReceiver Otlp { get; private set; } = null!;

    protected override async Task<string[]> ExtraArgumentsAsync()
    {
        Otlp = await OtlpReceiver.StartAsync();
        return [$"--Harness:TelemetryEndpoint={Otlp.Url}"];
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Otlp.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryHarnessCollection : ICollectionFixture<TelemetryHarnessFixture>
{
    public const string Name = "telemetry harness";
}

/// <summary>
/// Traces, logs and metrics as a developer finds them in the dashboard (ADR 0036): one request through
/// the platform is one trace across both Workers and their D1 calls; a signup is one trace through the
/// local Cloudflare API to the new stack's start; nothing of one tenant shows in another's telemetry.
/// </summary>
[Collection(TelemetryHarnessCollection.Name)]
public sealed class TelemetryTests(TelemetryHarnessFixture harness)
{
    /// <summary>
    /// A client that sends the traceparent it is given, as a browser or a service outside .NET would: this
    /// process's HttpClients would put their own (the harness runs in it, with a tracer listening).
    /// </summary>
    private static readonly HttpClient Client = new(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { Timeout = TimeSpan.FromSeconds(30) };

    private static string Hex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>A request through the platform to an account, as account's owner, continuing trace <paramref name="trace"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(string account, HttpMethod method, string path, string trace, string caller, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(harness.PlatformUrl, $"/accounts/{account}{path}"))
        {
            Content = body is null ? null : System.Net.Http.Json.JsonContent.Create(body),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", harness.Tokens.Issue(account, harness.Owners[account], TimeSpan.FromMinutes(5)));
        request.Headers.Add("traceparent", $"00-{trace}-{caller}-01");
        return await Client.SendAsync(request);
    }

    /// <summary>The span's ancestors in its trace, nearest first (as far as they were received).</summary>
    private static IEnumerable<ReceivedSpan> Ancestors(ReceivedSpan span, IReadOnlyList<ReceivedSpan> spans)
    {
        for (var parent = spans.FirstOrDefault(s => s.SpanId == span.ParentSpanId); parent is not null; parent = spans.FirstOrDefault(s => s.SpanId == parent.ParentSpanId))
        {
            yield return parent;
        }
    }

    [Fact]
    public async Task OneRequestThroughThePlatformIsOneTraceWithBothWorkersAndTheD1QueryTaggedWithTheTenant()
    {
        var (trace, caller) = (Hex(16), Hex(8));
        using var response = await SendAsync("account-1", HttpMethod.Get, "/api/clients?limit=5", trace, caller);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var spans = await harness.Otlp.WaitForSpansAsync(all => all.Any(s => s.TraceId == trace && s.Service == "account-1" && s.Name.StartsWith("d1_", StringComparison.Ordinal))
            && all.Any(s => s.TraceId == trace && s.Service == "platform" && s.ParentSpanId == caller), "the request's spans from both Workers");
        var inTrace = spans.Where(s => s.TraceId == trace).ToList();
        var platform = inTrace.Single(s => s.Service == "platform" && s.ParentSpanId == caller);
        Assert.Equal("GET /accounts/account-1/api/clients", platform.Name);
        var account = inTrace.Single(s => s.Service == "account-1" && s.Attributes.GetValueOrDefault("faas.trigger") == "http");
        // The account Worker's invocation hangs off the platform's call to it, which hangs off the platform's invocation.
        var hop = inTrace.Single(s => s.SpanId == account.ParentSpanId);
        Assert.Equal(("platform", "fetch"), (hop.Service, hop.Name));
        Assert.Contains(platform, Ancestors(hop, inTrace));
        var query = inTrace.First(s => s.Service == "account-1" && s.Name.StartsWith("d1_", StringComparison.Ordinal) && s.Attributes.GetValueOrDefault("db.query.text", "").Contains("clients", StringComparison.Ordinal));
        Assert.Contains(account, Ancestors(query, inTrace));
        Assert.Equal("cloudflare-d1", query.Attributes["db.system.name"]);
        Assert.True(query.Attributes.ContainsKey("cloudflare.d1.response.rows_read") && query.Attributes.ContainsKey("cloudflare.d1.response.served_by_region"), string.Join(", ", query.Attributes.Keys));
        // Every span of the account's carries its tenant, and only its own.
        var tenant = account.Attributes["tenant.id"];
        Assert.All(inTrace.Where(s => s.Service == "account-1"), s => Assert.Equal((HarnessFixture.StackOf("account-1"), tenant), (s.Attributes["cloudflare.script_name"], s.Attributes["tenant.id"])));
        Assert.All(inTrace.Where(s => s.Service == "platform"), s => Assert.Equal("platform", s.Attributes["cloudflare.script_name"]));
    }

    [Fact]
    public async Task ASignupIsOneTraceThroughThePlatformEveryProvisioningCallAndTheNewStacksStart()
    {
        var slug = $"tel-{Hex(3)}";
        var (trace, caller) = (Hex(16), Hex(8));
        using (var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.PlatformUrl, "/admin/accounts")) { Content = System.Net.Http.Json.JsonContent.Create(new { slug, name = "Telemetry & Co" }) })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Cloudflare.Emulation.Platform.PlatformSecrets.LoadOrCreateAdminToken(harness.StateRoot));
            request.Headers.Add("traceparent", $"00-{trace}-{caller}-01");
            using var response = await Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        try
        {
            // Both exporters' parts: the API's (the stack's start) and the platform's invocation, which ends last.
            var spans = await harness.Otlp.WaitForSpansAsync(all => all.Any(s => s.TraceId == trace && s.Service == "cloudflare-api" && s.Name.StartsWith("stack ", StringComparison.Ordinal))
                    && all.Any(s => s.TraceId == trace && s.Service == "platform" && s.ParentSpanId == caller),
                $"the signup's trace {trace}: the new stack's start and the platform's invocation");
            var inTrace = spans.Where(s => s.TraceId == trace).ToList();
            var signup = inTrace.Single(s => s.Service == "platform" && s.ParentSpanId == caller);
            var api = inTrace.Where(s => s.Service == "cloudflare-api").ToList();
            // Each provisioning step is a request to the local API, with its outcome, under the platform's call.
            foreach (var step in new[] { "/d1/database", "/r2/buckets", "/storage/kv/namespaces", "/workers/scripts/{name}" })
            {
                var call = api.FirstOrDefault(s => s.Name.EndsWith(step, StringComparison.Ordinal));
                Assert.True(call is not null, $"no span for {step}: {string.Join(", ", api.Select(s => s.Name))}");
                Assert.StartsWith("2", call.Attributes["http.response.status_code"], StringComparison.Ordinal);
                Assert.Contains(signup, Ancestors(call, inTrace));
            }
            var start = api.Single(s => s.Name.StartsWith("stack ", StringComparison.Ordinal));
            Assert.Equal($"acct-{slug}", start.Attributes["cloudflare.script_name"]);
            Assert.Contains(signup, Ancestors(start, inTrace));
        }
        finally
        {
            await harness.AdminAsync(HttpMethod.Delete, $"/admin/accounts/{slug}");
        }
    }

    [Fact]
    public async Task NothingOfOneTenantShowsInAnothersTelemetryAndNoBoundValueIsExported()
    {
        // Values that reach D1 only as bound parameters: in a row, in a search.
        var (secretA, secretB) = ($"secret{Hex(6)}", $"secret{Hex(6)}");
        var (traceA, traceB) = (Hex(16), Hex(16));
        foreach (var (account, secret, trace) in new[] { ("account-1", secretA, traceA), ("account-2", secretB, traceB) })
        {
            using var created = await SendAsync(account, HttpMethod.Post, "/api/clients", trace, Hex(8), new { name = $"Client {secret}", email = $"{secret}@example.com", status = "prospect" });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            using var searched = await SendAsync(account, HttpMethod.Get, $"/api/clients?email={secret}@example.com", trace, Hex(8));
            Assert.Equal(HttpStatusCode.OK, searched.StatusCode);
        }
        // Every invocation of both requests, on both Workers, has arrived (each comes whole, logs included).
        await harness.Otlp.WaitForSpansAsync(all => new[] { traceA, traceB }.All(t =>
                all.Count(s => s.TraceId == t && s.Service == "platform" && s.Attributes.ContainsKey("faas.trigger")) == 2
                && all.Count(s => s.TraceId == t && s.Service != "platform" && s.Attributes.ContainsKey("faas.trigger")) == 2),
            "both tenants' writes and searches, on the platform and on their own Workers");

        var exported = string.Join("\n", harness.Otlp.Raw);
        Assert.DoesNotContain(secretA, exported, StringComparison.Ordinal);
        Assert.DoesNotContain(secretB, exported, StringComparison.Ordinal);
        var tenantOf = harness.Otlp.Spans.Where(s => s.Service is "account-1" or "account-2" && s.Attributes.ContainsKey("tenant.id"))
            .GroupBy(s => s.Service).ToDictionary(g => g.Key, g => g.First().Attributes["tenant.id"]);
        foreach (var (service, other) in new[] { ("account-1", "account-2"), ("account-2", "account-1") })
        {
            var identifiers = new[] { other, HarnessFixture.StackOf(other), tenantOf[other] };
            foreach (var span in harness.Otlp.Spans.Where(s => s.Service == service))
            {
                var text = span.Name + " " + string.Join(" ", span.Attributes.Values);
                Assert.DoesNotContain(identifiers, id => text.Contains(id, StringComparison.Ordinal));
            }
            foreach (var log in harness.Otlp.Logs.Where(l => l.Service == service))
            {
                Assert.DoesNotContain(identifiers, id => (log.Body + string.Join(" ", log.Attributes.Values)).Contains(id, StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public async Task AWorkersConsoleErrorIsAStructuredLogRecordWithItsTraceIdUnderItsOwnResource()
    {
        var (trace, caller) = (Hex(16), Hex(8));
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults",
            new[] { new { stack = HarnessFixture.StackOf("account-2"), service = "d1", operation = "*", error = "d1-overloaded-too-many-queued" } });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        try
        {
            using var response = await SendAsync("account-2", HttpMethod.Get, "/api/clients", trace, caller);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults", Array.Empty<object>());
        }
        var logs = await harness.Otlp.WaitForLogsAsync(l => l.TraceId == trace, "the Worker's console.error");
        var log = Assert.Single(logs, l => l.Body.StartsWith("database unavailable on GET /api/clients", StringComparison.Ordinal));
        Assert.Equal(("account-2", "ERROR"), (log.Service, log.Severity));
        Assert.Equal(HarnessFixture.StackOf("account-2"), log.Attributes["cloudflare.script_name"]);
        // The trace shows the failed call and the failed invocation, each marked as failed.
        var spans = await harness.Otlp.WaitForSpansAsync(all => all.Any(s => s.TraceId == trace && s.Service == "account-2" && s.Name.StartsWith("d1_", StringComparison.Ordinal)), "the failed D1 call");
        Assert.Contains(spans, s => s.TraceId == trace && s.Service == "account-2" && s.Name.StartsWith("d1_", StringComparison.Ordinal) && s.Error);
        var invocation = Assert.Single(spans, s => s.TraceId == trace && s.Service == "account-2" && s.Attributes.ContainsKey("faas.trigger"));
        Assert.True(invocation.Error, "a 503 marks the invocation's span failed");
        Assert.Equal("503", invocation.Attributes["http.response.status_code"]);
    }

    [Fact]
    public async Task AStackWhoseRecordingIsStoppedSendsNothingUntilItIsStartedAgainAndARestartKeepsIt()
    {
        var stack = HarnessFixture.StackOf("account-2");
        var path = $"/__emulator/stacks/{stack}/telemetry";
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, path, new { recording = "no" });
        Assert.True(status == HttpStatusCode.BadRequest && envelope.ToString().Contains("recording: true or false", StringComparison.Ordinal), envelope.ToString());
        (status, _) = await harness.CloudflareAsync(HttpMethod.Put, "/__emulator/stacks/acct-no-such-stack/telemetry", new { recording = false });
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, _) = await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{stack}/pause");
        try
        {
            (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, path, new { recording = false });
            Assert.True(status == HttpStatusCode.Conflict && envelope.ToString().Contains("resume it first", StringComparison.Ordinal), envelope.ToString());
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{stack}/resume");
        }

        (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, path, new { recording = false });
        Assert.True(status == HttpStatusCode.OK && !envelope.GetProperty("result").GetProperty("recording").GetBoolean(), envelope.ToString());
        var (quiet, afterRestart) = (Hex(16), Hex(16));
        try
        {
            using (var response = await SendAsync("account-2", HttpMethod.Get, "/api/clients?limit=1", quiet, Hex(8)))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            // A batch waits this long before its export; a restart would end one still waiting, so the
            // quiet request's record, had one been made, would go out before the restart.
            var batchWait = RecorderBatchDelay.Read(RepositoryPaths.Root) + TimeSpan.FromSeconds(1);
            await Task.Delay(batchWait);
            (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{stack}/restart");
            Assert.True(status == HttpStatusCode.OK, envelope.ToString());
            using (var response = await SendAsync("account-2", HttpMethod.Get, "/api/clients?limit=1", afterRestart, Hex(8)))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            // The platform's invocations of both requests arrive; the account's never do, however long a
            // batch of its would wait.
            await harness.Otlp.WaitForSpansAsync(all => new[] { quiet, afterRestart }.All(t => all.Any(s => s.TraceId == t && s.Service == "platform" && s.Attributes.ContainsKey("faas.trigger"))),
                "the platform's invocations of both requests");
            await Task.Delay(batchWait);
            Assert.DoesNotContain(harness.Otlp.Spans, s => (s.TraceId == quiet || s.TraceId == afterRestart) && s.Service == "account-2");
            (status, envelope) = await harness.CloudflareAsync(HttpMethod.Get, path);
            Assert.True(status == HttpStatusCode.OK && !envelope.GetProperty("result").GetProperty("recording").GetBoolean(), envelope.ToString());
        }
        finally
        {
            (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, path, new { recording = true });
        }
        Assert.True(status == HttpStatusCode.OK && envelope.GetProperty("result").GetProperty("recording").GetBoolean(), envelope.ToString());

        var recorded = Hex(16);
        using (var response = await SendAsync("account-2", HttpMethod.Get, "/api/clients?limit=1", recorded, Hex(8)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await harness.Otlp.WaitForSpansAsync(all => all.Any(s => s.TraceId == recorded && s.Service == "account-2" && s.Name.StartsWith("d1_", StringComparison.Ordinal)),
            "the account's spans once it records again");
    }

    [Fact]
    public async Task EachStackReportsItsRequestsLatencyAndD1Rows()
    {
        var before = harness.Otlp.Counter("account-1", "cloudflare.worker.requests");
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync("account-1", HttpMethod.Get, "/api/clients?limit=2", Hex(16), Hex(8));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (harness.Otlp.Counter("account-1", "cloudflare.worker.requests") < before + 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }
        Assert.True(harness.Otlp.Counter("account-1", "cloudflare.worker.requests") >= before + 5, $"requests: {harness.Otlp.Counter("account-1", "cloudflare.worker.requests")} (was {before})");
        Assert.True(harness.Otlp.Counter("account-1", "cloudflare.worker.duration") >= before + 5);
        Assert.True(harness.Otlp.Counter("account-1", "cloudflare.d1.queries") > 0);
        Assert.True(harness.Otlp.Counter("account-1", "cloudflare.worker.cpu_time") > 0);
        Assert.True(harness.Otlp.Counter("platform", "cloudflare.worker.requests") >= 5);
    }
}
