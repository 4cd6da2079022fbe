using System.Text.Json;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Scenarios;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>Scenario files, their checks, and the metrics a run's samples give.</summary>
public sealed class ScenarioTests
{
    public static TheoryData<string> Shipped() => [.. Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "scenarios"), "*.json").Select(Path.GetFileName).OfType<string>()];

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Every_shipped_scenario_loads_names_itself_after_its_file_and_says_what_it_shows(string file)
    {
        var scenario = Scenario.Load(Path.Combine(RepositoryPaths.Root, "scenarios", file));

        Assert.Equal(Path.GetFileNameWithoutExtension(file), scenario.Name);
        Assert.False(string.IsNullOrWhiteSpace(scenario.Description));
        Assert.NotEmpty(scenario.Steps);
    }

    private const string Good = """
        { "name": "short", "description": "d", "accounts": 2, "traffic": { "seconds": 10 },
          "steps": [{ "at": 1, "action": "kill", "stack": "acct-account-1" }], "assertions": ["othersErrors == 0"] }
        """;

    public static TheoryData<string, string, string> BadScenarios() => new()
    {
        { "\"name\": \"short\"", "\"name\": \"Short One\"", "name:" },
        { "\"accounts\": 2", "\"accounts\": 0", "accounts:" },
        { "\"seconds\": 10", "\"seconds\": 1000", "traffic.seconds:" },
        { "\"action\": \"kill\"", "\"action\": \"explode\"", "steps[0].action:" },
        { "\"at\": 1", "\"at\": 11", "steps[0].at:" },
        { ", \"stack\": \"acct-account-1\"", "", "steps[0].stack:" },
        { "\"othersErrors == 0\"", "\"happiness > 3\"", "assertions[0]:" },
        { "\"othersErrors == 0\"", "\"othersErrors is 0\"", "assertions[0]:" },
        { "\"accounts\": 2", "\"accounts\": 2, \"acounts\": 3", "acounts" },
        { "\"action\": \"kill\", \"stack\": \"acct-account-1\"", "\"action\": \"demote\", \"account\": \"account-9\", \"role\": \"readonly\"", "steps[0].account:" },
        { "\"action\": \"kill\", \"stack\": \"acct-account-1\"", "\"action\": \"signup\", \"account\": \"account-3\"", "steps[0].account:" },
        { "\"action\": \"kill\", \"stack\": \"acct-account-1\"", "\"action\": \"release\", \"body\": { \"migration\": \"labels.sql\", \"sql\": \"x\", \"creates\": \"t\" }", "steps[0].body:" },
    };

    [Theory]
    [MemberData(nameof(BadScenarios))]
    public void A_bad_scenario_is_refused_naming_the_file_and_the_field(string replace, string with, string field)
    {
        var file = Path.Combine(Path.GetTempPath(), $"scenario-{Guid.NewGuid():N}.json");
        Assert.Contains(replace, Good);
        File.WriteAllText(file, Good.Replace(replace, with));
        try
        {
            var refused = Assert.Throws<HarnessConfigurationException>(() => Scenario.Load(file));
            Assert.Contains(file, refused.Message);
            Assert.Contains(field, refused.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_good_scenario_above_loads()
    {
        var file = Path.Combine(Path.GetTempPath(), $"scenario-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, Good);
        try
        {
            Assert.Equal("short", Scenario.Load(file).Name);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static Scenario Of(string steps, params string[] assertions) => new("s", "d", 3, new ScenarioTraffic(Seconds: 20),
        JsonSerializer.Deserialize<List<ScenarioStep>>(steps, JsonSerializerOptions.Web)!, assertions);

    private static ScenarioReport Report(Scenario scenario, IEnumerable<ScenarioSample> samples, params ScenarioStepLog[] steps)
    {
        var traffic = new ScenarioTrafficRun(new HttpClient(), new Uri("http://127.0.0.1/"), scenario.Traffic, new System.Diagnostics.Stopwatch());
        foreach (var sample in samples)
        {
            traffic.Samples.Enqueue(sample);
        }
        return ScenarioReport.From(scenario, DateTimeOffset.UtcNow, 20, traffic, steps, new Dictionary<string, double?> { ["acknowledgedWritesLost"] = 0 }, new Dictionary<string, string>());
    }

    [Fact]
    public void Failures_count_against_the_tenant_a_step_names_and_recovery_runs_from_the_last_step_to_the_last_failure()
    {
        var scenario = Of("""[{ "at": 4, "action": "kill", "stack": "acct-account-1" }, { "at": 8, "action": "restart", "stack": "acct-account-1" }]""",
            "othersErrors == 0", "targetErrors == 2", "recoveredWithinSeconds <= 1.5", "targetOutageSeconds < 5");
        var report = Report(scenario,
        [
            new("account-1", "list", 5, 10, 503),
            new("account-1", "list", 9, 500, 0),  // no answer, ending at 9.5 s
            new("account-1", "list", 10, 10, 200),
            new("account-2", "list", 5, 10, 200),
            new("account-3", "create", 6, 10, 404), // a 4xx is the caller's, not a failure
        ],
            new ScenarioStepLog(4, 4.1, "kill", "acct-account-1", true, ""), new ScenarioStepLog(8, 8.5, "restart", "acct-account-1", true, ""));

        Assert.Equal(["target", "other", "other"], report.Tenants.Select(t => t.Role));
        Assert.Equal(1.5, report.Metrics["recoveredWithinSeconds"]);
        Assert.Equal(4.5, report.Metrics["targetOutageSeconds"]);
        Assert.True(report.Passed, string.Join("; ", report.Assertions.Select(a => $"{a.Assertion}={a.Value}")));
    }

    [Fact]
    public void The_timeline_is_drawn_with_a_gap_where_a_tenant_answered_nothing()
    {
        var scenario = Of("""[{ "at": 1, "action": "kill", "stack": "acct-account-1" }, { "at": 2, "action": "restart", "stack": "acct-account-1" }]""", "requests > 0");
        var report = Report(scenario,
            [new("account-1", "list", 0.5, 10, 200), new("account-1", "list", 1.5, 1, 0), new("account-1", "list", 2.5, 12, 200), new("account-2", "list", 1.5, 9, 200)],
            new ScenarioStepLog(1, 1, "kill", "acct-account-1", true, ""), new ScenarioStepLog(2, 2.2, "restart", "acct-account-1", true, ""));
        var png = Path.Combine(Path.GetTempPath(), $"timeline-{Guid.NewGuid():N}.png");
        try
        {
            Assert.Null(report.Timeline.Single(p => p.Account == "account-1" && p.Second == 1).P50Ms);
            ScenarioTimeline.Write(report, png);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
        }
        finally
        {
            File.Delete(png);
        }
    }

    [Fact]
    public void A_target_still_failing_at_the_end_never_recovered_and_its_assertion_fails()
    {
        var scenario = Of("""[{ "at": 2, "action": "pause", "stack": "acct-account-2" }]""", "recoveredWithinSeconds <= 10");
        var report = Report(scenario, [new("account-2", "list", 3, 5000, 0), new("account-2", "list", 9, 5000, 0)],
            new ScenarioStepLog(2, 2, "pause", "acct-account-2", true, ""));

        Assert.Null(report.Metrics["recoveredWithinSeconds"]);
        Assert.False(report.Passed);
        Assert.Contains("never", report.ToTable("r.json", "r.png"));
    }

    [Fact]
    public void A_step_that_was_not_done_fails_the_run_though_its_assertions_hold_vacuously()
    {
        var scenario = Of("""[{ "at": 2, "action": "demote", "account": "account-1", "role": "readonly" }]""", "writesAfterDemotion == 0");
        var refused = Report(scenario, [new("account-1", "create", 3, 5, 201)], new ScenarioStepLog(2, 2.1, "demote", "acct-account-1", false, "412"));
        var done = Report(scenario, [new("account-1", "create", 3, 5, 201)], new ScenarioStepLog(2, 2.1, "demote", "acct-account-1", true, "200"));

        Assert.All(refused.Assertions, a => Assert.True(a.Holds));
        Assert.False(refused.Passed);
        Assert.Contains("NOT DONE: 412", refused.ToTable("r.json", "r.png"));
        Assert.True(done.Passed);
    }

    [Fact]
    public void A_rule_for_every_stack_or_the_platform_targets_everyone_and_an_API_rule_targets_no_tenant()
    {
        Assert.Equal(["*"], Of("""[{ "at": 1, "action": "faults", "body": [{ "stack": "*", "service": "d1", "error": "d1-cpu-limit" }] }]""").Steps[0].Targets());
        Assert.Empty(Of("""[{ "at": 1, "action": "faults", "body": [{ "stack": "*", "service": "api", "error": "api-rate-limited" }] }]""").Steps[0].Targets());
        var platform = Report(Of("""[{ "at": 1, "action": "restart", "stack": "platform" }]""", "requests >= 0"), [new("account-3", "list", 1, 1, 200)]);
        Assert.All(platform.Tenants, t => Assert.Equal("target", t.Role));
    }

    [Theory]
    [InlineData("othersErrors == 0", 0, true)]
    [InlineData("othersErrors == 0", 1, false)]
    [InlineData("targetP99Ms <= 250", 250, true)]
    [InlineData("targetP99Ms < 250", 250, false)]
    [InlineData("requests > 10", 11, true)]
    [InlineData("requests != 3", 3, false)]
    public void An_assertion_compares_its_metric(string text, double value, bool holds)
    {
        Assert.True(ScenarioAssertion.TryParse(text, out var assertion, out var why), why);
        Assert.Equal(holds, assertion.Holds(value));
        Assert.False(assertion.Holds(null));
    }
}
