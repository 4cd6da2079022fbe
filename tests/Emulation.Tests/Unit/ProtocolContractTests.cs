using System.Text.Json;
using System.Text.Json.Nodes;
using CliWrap;
using CliWrap.Buffered;
using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>
/// The seam between the supervisor (C#) and the runtime host (Node): every operation's request and
/// reply record, serialised as the supervisor serialises them, must fit the shapes the host checks
/// (emulation/runtime-host/protocol.mjs), and both sides must know the same operations.
/// </summary>
public sealed class ProtocolContractTests
{
    private static readonly HostStackSpec Spec = new("acct-acme", "account", "/state/stacks/acct-acme", 0,
        new Dictionary<string, string> { ["DB"] = "d1-id" }, new Dictionary<string, string> { ["DOCUMENTS"] = "bucket" },
        new Dictionary<string, string> { ["CACHE"] = "kv-id" }, new Dictionary<string, string> { ["REGION"] = "eu" },
        Script: "export default {}", CompatibilityDate: "2026-07-30", CompatibilityFlags: ["nodejs_compat"],
        Persist: new StackPersistence("/d1", null, "/kv"), R2Credentials: new Dictionary<string, S3Credentials> { ["bucket"] = new("AKID", "secret") });

    private static readonly HostStackStarted Started = new("acct-acme", "account", "running", "http://127.0.0.1:4000", 1234, ["0001_init"], 120, 180);

    /// <summary>One request and one reply of every operation, with every optional field filled.</summary>
    private static readonly (object Request, object Reply)[] Samples =
    [
        (new StartStack(Spec), Started),
        (new RedeployStack(Spec with { Script = null, CompatibilityFlags = null, Persist = null, R2Credentials = null }), Started with { Pid = null, Migrations = [] }),
        (new StopStack("acct-acme"), new HostStackStopped("acct-acme", "stopped")),
        (new BundleWorker("account"), new WorkerBundle("export default {}", "2026-07-30", ["nodejs_compat"])),
        (new ReadLiveBindings("acct-acme"), new LiveBindings(["CACHE", "DB", "DOCUMENTS"])),
        (new SetEgressPolicy(new EgressPolicy(["*.example.eu"], "127.0.0.1:5000")), new EgressPolicy(["*.example.eu"], null)),
        (new ReadEgressLog(null), new EgressLog(new Dictionary<string, IReadOnlyList<EgressRecord>>
        {
            ["acct-acme"] = [new EgressRecord(DateTimeOffset.UnixEpoch, "GET", "https://api.example.us/", false, "not allowed by the residency policy")],
        })),
        (new ReadEgressLog("acct-acme"), new EgressLog(new Dictionary<string, IReadOnlyList<EgressRecord>>())),
        (new PublishRelease("platform", "RELEASES", "account"), new PublishedRelease(["account/current.mjs"])),
        (new AddReplicaDatabases("acct-acme"), new ReplicaDatabasesAdded("acct-acme", 2)),
        (new SetPartition("acct-acme", true), new PartitionState("acct-acme", true)),
        (new SetTelemetryRecording("acct-acme", false), new TelemetryRecordingState("acct-acme", false)),
        (new SetHopFaults([new HopFaultRule("route", "acct-acme", "fetch", 0.5, 3, "Network connection lost.", 10, 5, DateTimeOffset.UnixEpoch, null), new HopFaultRule("egress", "*", "*", 1, null, null, 200, 0, null, null)]), new HopFaultsSet(2)),
    ];

    [Fact]
    public async Task Every_operation_fits_the_host_s_shapes_and_both_sides_know_the_same_operations()
    {
        var (operations, problems) = await CheckAsync(Samples);

        Assert.Empty(problems);
        var requestTypes = typeof(IHostRequest<>).Assembly.GetTypes()
            .Where(t => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IHostRequest<>)))
            .ToList();
        Assert.Equal(operations.Order(), requestTypes.Select(HostProtocol.OperationOf).Order());
        Assert.All(requestTypes, t => Assert.Contains(Samples, s => s.Request.GetType() == t));
    }

    [Fact]
    public async Task A_field_the_host_does_not_know_or_a_missing_one_is_named()
    {
        var (_, problems) = await CheckAsync([(new StopStack("a"), new { name = "a", state = "stopped", extra = 1 }), (new BundleWorker("account"), new { script = "x" })]);

        Assert.Equal(["stop reply.extra: is not a field of this message", "bundle reply.compatibilityDate: is required (string)"], problems);
    }

    [Fact]
    public void Every_reply_the_host_may_send_reads_back_into_its_record()
    {
        foreach (var (request, reply) in Samples)
        {
            var json = JsonSerializer.Serialize(reply, reply.GetType(), HostJson.Options);
            var back = JsonSerializer.Deserialize(json, reply.GetType(), HostJson.Options);
            Assert.Equal(json, JsonSerializer.Serialize(back, reply.GetType(), HostJson.Options));
        }
    }

    [Fact]
    public void A_stack_s_control_secret_never_reaches_a_log()
    {
        const string Secret = "0123456789abcdef0123456789abcdef";
        var line = $"@@host {{\"event\":\"control\",\"name\":\"acct-acme\",\"url\":\"http://127.0.0.1:4100/\",\"secret\":\"{Secret}\"";

        Assert.DoesNotContain(Secret, RuntimeHostProcess.Redacted(line), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, RuntimeHostProcess.Redacted(line[..^5]), StringComparison.Ordinal);
        Assert.Contains("acct-acme", RuntimeHostProcess.Redacted(line), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, new StackControl(new Uri("http://127.0.0.1:4100/"), Secret).ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, new HostEvent("control", "acct-acme", null, null, null, null, null, null, Secret: Secret).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"event\":\"host-ready\",\"pid\":1,\"node\":\"v22\",\"protocol\":1}", "speaks protocol 1")]
    [InlineData("{\"event\":\"host-ready\",\"pid\":1,\"node\":\"v22\"}", "speaks protocol (none)")]
    public async Task A_host_that_speaks_another_protocol_is_refused_at_start(string ready, string error)
    {
        var script = Path.Combine(Path.GetTempPath(), $"old-host-{Guid.NewGuid():N}.mjs");
        // A host from another checkout: it says it is ready, then waits for commands it would misread.
        await File.WriteAllTextAsync(script, $"console.log('@@host ' + JSON.stringify({ready})); process.stdin.resume();");
        try
        {
            await using var host = new RuntimeHostProcess(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            var refusal = await Assert.ThrowsAsync<RuntimeHostException>(() =>
                host.StartAsync("node", script, [], new Dictionary<string, string?>(), Path.GetTempPath(), CancellationToken.None));
            Assert.Contains(error, refusal.Message, StringComparison.Ordinal);
            Assert.Contains($"this harness speaks {HostProtocol.Version}", refusal.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static async Task<(IReadOnlyList<string> Operations, IReadOnlyList<string> Problems)> CheckAsync(IEnumerable<(object Request, object Reply)> samples)
    {
        var input = new JsonObject
        {
            ["operations"] = new JsonArray([.. samples.Select(s => (JsonNode)new JsonObject
            {
                ["op"] = HostProtocol.OperationOf(s.Request.GetType()),
                ["request"] = JsonSerializer.SerializeToNode(s.Request, s.Request.GetType(), HostJson.Options),
                ["reply"] = JsonSerializer.SerializeToNode(s.Reply, s.Reply.GetType(), HostJson.Options),
            })]),
        };
        var result = await Cli.Wrap("node")
            .WithArguments([Path.Combine(RepositoryPaths.Root, "emulation", "runtime-host", "tests", "check-protocol.mjs")])
            .WithStandardInputPipe(PipeSource.FromString(input.ToJsonString()))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();
        Assert.True(result.ExitCode == 0, result.StandardError);
        var output = JsonDocument.Parse(result.StandardOutput).RootElement;
        return ([.. output.GetProperty("operations").EnumerateArray().Select(o => o.GetString()!)],
            [.. output.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!)]);
    }
}
