using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Cloudflare.Emulation.Chaos;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// The chaos API's D1 fault rules, observed from inside a Worker: each catalogue error arrives as
/// D1's binding throws it, only in the stack the rule names, for as long as the rule says.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class ChaosFaultTests(HarnessFixture harness) : IAsyncLifetime
{
    private readonly string _script = $"chaos-{Guid.NewGuid():N}"[..24];
    private string _database = "";

    // Runs one query and answers what the Worker saw: the result, or the error's message and cause.
    private const string Probe = """
        export default {
          async fetch(request, env) {
            try {
              const { results } = await env.DB.prepare("SELECT 1 AS one").all();
              return Response.json({ one: results[0].one });
            } catch (error) {
              return Response.json({ message: error.message, cause: error.cause?.message ?? null }, { status: 500 });
            }
          },
        };
        """;

    private string Account => $"accounts/{harness.ControlPlane.AccountId}";

    public async Task InitializeAsync()
    {
        _database = (await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/d1/database", new { name = _script, jurisdiction = "eu" }))
            .Envelope.GetProperty("result").GetProperty("uuid").GetString()!;
        var (status, envelope) = await harness.UploadScriptAsync(_script, Probe, [new { type = "d1", name = "DB", id = _database }]);
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
    }

    public async Task DisposeAsync()
    {
        await RulesAsync(HttpMethod.Post, Array.Empty<object>());
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/workers/scripts/{_script}");
        await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/d1/database/{_database}");
    }

    private Task<(HttpStatusCode Status, JsonElement Envelope)> RulesAsync(HttpMethod method, object? body = null) =>
        harness.CloudflareAsync(method, "/__emulator/chaos/faults", body);

    private async Task<(HttpStatusCode Status, JsonElement Body)> ProbeAsync()
    {
        using var response = await harness.Http.GetAsync(harness.Supervisor.Find(_script)!.Url);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task Every_d1_catalogue_error_reaches_the_Worker_as_D1_throws_it_and_only_as_often_as_the_rule_says()
    {
        foreach (var error in FaultCatalogue.Errors.Where(e => e.Service == "d1"))
        {
            var (status, envelope) = await RulesAsync(HttpMethod.Post, new[] { new { stack = _script, service = "d1", operation = "query", error = error.Name, times = 1 } });
            Assert.True(status == HttpStatusCode.OK, envelope.ToString());

            var (failed, seen) = await ProbeAsync();
            Assert.Equal(HttpStatusCode.InternalServerError, failed);
            Assert.Equal($"D1_ERROR: {error.Message}", seen.GetProperty("message").GetString());
            Assert.Equal(error.Message, seen.GetProperty("cause").GetString());

            // times: 1 — the next query runs.
            var (ok, answer) = await ProbeAsync();
            Assert.Equal(HttpStatusCode.OK, ok);
            Assert.Equal(1, answer.GetProperty("one").GetInt32());
        }
    }

    [Fact]
    public async Task A_rule_on_one_stack_leaves_every_other_tenant_untouched_and_survives_its_stacks_restart()
    {
        await RulesAsync(HttpMethod.Post, new[] { new { stack = _script, service = "d1", operation = "*", error = "d1-overloaded-too-many-queued" } });

        Assert.Equal(HttpStatusCode.InternalServerError, (await ProbeAsync()).Status);
        var tenant = harness.AsOwner("account-1");
        for (var i = 0; i < 10; i++)
        {
            using var clients = await tenant.SendAsync(HttpMethod.Get, "/api/clients");
            Assert.Equal(HttpStatusCode.OK, clients.StatusCode);
        }

        // A restarted workerd starts with no rules; the harness hands them to it again.
        await harness.Supervisor.RestartStackAsync(_script, CancellationToken.None);
        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        while ((status = (await ProbeAsync()).Status) != HttpStatusCode.InternalServerError && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.InternalServerError, status);

        await RulesAsync(HttpMethod.Delete, new[] { new { stack = _script } });
        Assert.Empty((await RulesAsync(HttpMethod.Get)).Envelope.GetProperty("result").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync()).Status);
    }

    [Fact]
    public async Task A_spent_rule_stays_spent_when_other_rules_are_added_or_its_stack_is_paused()
    {
        var spent = new { stack = _script, service = "d1", operation = "query", error = "d1-reset-internal", times = 1 };
        await RulesAsync(HttpMethod.Post, new[] { spent });
        Assert.Equal(HttpStatusCode.InternalServerError, (await ProbeAsync()).Status);

        await RulesAsync(HttpMethod.Patch, new[] { new { stack = _script, service = "d1", operation = "exec", latencyMs = 5 } });
        await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{_script}/pause");
        await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{_script}/resume");

        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync()).Status);
    }

    [Fact]
    public async Task Rules_cleared_while_a_stack_is_paused_are_gone_from_it_when_it_resumes()
    {
        await RulesAsync(HttpMethod.Post, new[] { new { stack = _script, service = "d1", operation = "query", error = "d1-reset-internal" } });
        Assert.Equal(HttpStatusCode.InternalServerError, (await ProbeAsync()).Status);
        await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{_script}/pause");

        var clock = Stopwatch.StartNew();
        await RulesAsync(HttpMethod.Post, Array.Empty<object>());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"clearing waited {clock.ElapsedMilliseconds} ms on the paused stack");
        await harness.CloudflareAsync(HttpMethod.Post, $"/__emulator/stacks/{_script}/resume");

        var deadline = Stopwatch.StartNew();
        HttpStatusCode status;
        while ((status = (await ProbeAsync()).Status) != HttpStatusCode.OK && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task The_rules_answer_under_the_Cloudflare_API_base_too()
    {
        await RulesAsync(HttpMethod.Post, new[] { new { stack = _script, service = "d1", operation = "exec", latencyMs = 1 } });

        // <cloudflare-api>/__emulator/chaos/faults, as the issue writes it: the same rules.
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Get, "__emulator/chaos/faults");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("exec", Assert.Single(envelope.GetProperty("result").EnumerateArray()).GetProperty("operation").GetString());
    }

    [Fact]
    public async Task A_latency_rule_delays_the_query_and_lets_it_succeed()
    {
        await RulesAsync(HttpMethod.Post, new[] { new { stack = _script, service = "d1", operation = "query", latencyMs = 400 } });

        var clock = Stopwatch.StartNew();
        var (status, _) = await ProbeAsync();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(clock.ElapsedMilliseconds >= 380, $"{clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task The_account_API_retries_reads_on_retryable_errors_and_answers_an_overloaded_or_full_database_clearly()
    {
        var stack = HarnessFixture.StackOf("account-1");
        var owner = harness.AsOwner("account-1");
        try
        {
            // One lost connection on each of its first reads: retried, the user never sees it.
            await RulesAsync(HttpMethod.Post, new[] { new { stack, service = "d1", operation = "query", error = "d1-network-connection-lost", times = 2 } });
            using (var retried = await owner.SendAsync(HttpMethod.Get, "/api/clients"))
            {
                Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
            }

            // Overloaded: a 503 with Retry-After and a JSON error, through the platform; never a 500.
            await RulesAsync(HttpMethod.Post, new[] { new { stack, service = "d1", operation = "*", error = "d1-overloaded-too-many-queued" } });
            using (var busy = await owner.SendAsync(HttpMethod.Get, "/api/clients"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
                Assert.Equal("1", busy.Headers.GetValues("retry-after").Single());
                var body = JsonDocument.Parse(await busy.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal("database_unavailable", body.GetProperty("error").GetString());
            }

            // Full: the write is refused as a 507 and nothing of it lands.
            await RulesAsync(HttpMethod.Post, new[] { new { stack, service = "d1", operation = "batch", error = "d1-exceeded-max-size" } });
            var name = $"Full {Guid.NewGuid():N}";
            using (var refused = await owner.SendAsync(HttpMethod.Post, "/api/clients", new { name }))
            {
                Assert.Equal((HttpStatusCode)507, refused.StatusCode);
            }
            await RulesAsync(HttpMethod.Post, Array.Empty<object>());
            using var after = await owner.SendAsync(HttpMethod.Get, "/api/clients?limit=100");
            Assert.DoesNotContain(name, await after.Content.ReadAsStringAsync());
        }
        finally
        {
            await RulesAsync(HttpMethod.Post, Array.Empty<object>());
        }
    }

    [Fact]
    public async Task The_Cloudflare_API_answers_a_rate_limit_rule_as_Cloudflare_does_and_only_for_its_operation()
    {
        await RulesAsync(HttpMethod.Post, new[] { new { stack = "*", service = "api", operation = "kv.create", error = "api-rate-limited", times = 1 } });
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.ControlPlane.BaseUrl, $"{Account}/storage/kv/namespaces"))
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { title = $"limited-{Guid.NewGuid():N}" }),
            };
            request.Headers.Authorization = new("Bearer", harness.ControlPlane.ApiToken);
            using var limited = await harness.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal("300", limited.Headers.GetValues("retry-after").Single());
            var envelope = JsonDocument.Parse(await limited.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(971, envelope.GetProperty("errors")[0].GetProperty("code").GetInt32());

            // Another operation meanwhile is untouched, and the rule is spent after one call.
            Assert.Equal(HttpStatusCode.OK, (await harness.CloudflareAsync(HttpMethod.Get, $"{Account}/d1/database")).Status);
            var (status, created) = await harness.CloudflareAsync(HttpMethod.Post, $"{Account}/storage/kv/namespaces", new { title = $"after-{Guid.NewGuid():N}" });
            Assert.Equal(HttpStatusCode.OK, status);
            await harness.CloudflareAsync(HttpMethod.Delete, $"{Account}/storage/kv/namespaces/{created.GetProperty("result").GetProperty("id").GetString()}");
        }
        finally
        {
            await RulesAsync(HttpMethod.Post, Array.Empty<object>());
        }
    }

    public static TheoryData<string, string> BadRules() => new()
    {
        { """[{"stack":"no-such-stack","service":"d1","error":"d1-overloaded-too-many-queued"}]""", "[0].stack" },
        { """[{"stack":"*","service":"queues","error":"d1-overloaded-too-many-queued"}]""", "[0].service" },
        { """[{"stack":"*","service":"d1","operation":"fetch","error":"d1-overloaded-too-many-queued"}]""", "[0].operation" },
        { """[{"stack":"*","service":"d1","probability":2,"error":"d1-overloaded-too-many-queued"}]""", "[0].probability" },
        { """[{"stack":"*","service":"d1","error":"d1-on-fire"}]""", "[0].error" },
        { """[{"stack":"*","service":"d1"}]""", "[0].error" },
        { """[{"stack":"*","service":"d1","error":"d1-overloaded-too-many-queued","times":0}]""", "[0].times" },
        { """[{"stack":"*","service":"d1","probability":"often"}]""", "probability" },
        { """[{"stack":"platform","service":"api","error":"api-rate-limited"}]""", "[0].stack" },
        { """[{"stack":"*","service":"d1","error":"api-rate-limited"}]""", "[0].error" },
    };

    [Theory]
    [MemberData(nameof(BadRules))]
    public async Task A_bad_rule_is_refused_naming_its_field_and_changes_nothing(string rules, string field)
    {
        await RulesAsync(HttpMethod.Post, new[] { new { stack = _script, service = "d1", operation = "exec", latencyMs = 1 } });

        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/faults",
            content: new StringContent(rules, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(field, envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        var kept = Assert.Single((await RulesAsync(HttpMethod.Get)).Envelope.GetProperty("result").EnumerateArray());
        Assert.Equal("exec", kept.GetProperty("operation").GetString());
    }
}
