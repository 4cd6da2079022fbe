using System.Reflection;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// The C# side of the runtime host's protocol; its Node twin is emulation/runtime-host/protocol.mjs,
/// and ProtocolContractTests checks every operation's request and reply against it. One record per
/// request, named by its <see cref="HostOperationAttribute"/>, and the record its reply is read into.
/// </summary>
public static class HostProtocol
{
    /// <summary>The version both sides speak; the host names its own in host-ready, and another is refused.</summary>
    public const int Version = 5;

    /// <summary>The operation name of a request type.</summary>
    public static string OperationOf(Type requestType) =>
        requestType.GetCustomAttribute<HostOperationAttribute>()?.Name
        ?? throw new InvalidOperationException($"{requestType.Name} names no host operation.");
}

/// <summary>A command to the runtime host whose successful reply is a <typeparamref name="TReply"/>.</summary>
public interface IHostRequest<TReply>;

/// <summary>The operation (the command's "op") a request record stands for.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class HostOperationAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Starts a stack (a stopped or failed one again).</summary>
[HostOperation("start")]
public sealed record StartStack(HostStackSpec Stack) : IHostRequest<HostStackStarted>;

/// <summary>New code or bindings for a stack: a running one is reconfigured in place, on its port.</summary>
[HostOperation("redeploy")]
public sealed record RedeployStack(HostStackSpec Stack) : IHostRequest<HostStackStarted>;

[HostOperation("stop")]
public sealed record StopStack(string Name) : IHostRequest<HostStackStopped>;

/// <summary>The current bundle of a repository Worker.</summary>
[HostOperation("bundle")]
public sealed record BundleWorker(string Worker) : IHostRequest<WorkerBundle>;

/// <summary>The binding names a stack's Worker has in the running runtime.</summary>
[HostOperation("bindings")]
public sealed record ReadLiveBindings(string Name) : IHostRequest<LiveBindings>;

/// <summary>Sets the egress guard's policy; the reply is the policy in force.</summary>
[HostOperation("egress-policy")]
public sealed record SetEgressPolicy(EgressPolicy Policy) : IHostRequest<EgressPolicy>;

/// <summary>What each stack's Worker tried to reach (one stack's, with a name).</summary>
[HostOperation("egress")]
public sealed record ReadEgressLog(string? Name) : IHostRequest<EgressLog>;

/// <summary>Bundles a repository Worker and publishes it (code and migrations) into a stack's R2 binding.</summary>
[HostOperation("publish-release")]
public sealed record PublishRelease(string Name, string Binding, string Worker) : IHostRequest<PublishedRelease>;

/// <summary>Binds a stack's replica D1 databases (once), so read replication can be turned on.</summary>
[HostOperation("add-replica-databases")]
public sealed record AddReplicaDatabases(string Name) : IHostRequest<ReplicaDatabasesAdded>;

/// <summary>Cuts (or heals) every other stack's route to a stack: their fetches to it fail as a lost connection.</summary>
[HostOperation("partition")]
public sealed record SetPartition(string Name, bool Partitioned) : IHostRequest<PartitionState>;

/// <summary>
/// Stops (or starts again) recording a traced stack's invocations — spans, logs and the summaries its
/// metrics come from — in its running isolate and in every start after. Refused with telemetry off.
/// </summary>
[HostOperation("telemetry-recording")]
public sealed record SetTelemetryRecording(string Name, bool Recording) : IHostRequest<TelemetryRecordingState>;

/// <summary>
/// The chaos API's rules for the hops the runtime host makes (the egress guard): "route" rules fail
/// or slow other stacks' calls to a stack (<see cref="HopFaultRule.Stack"/> is the stack called),
/// "egress" rules a stack's own fetches beyond the harness (the stack calling). Replaces all of them.
/// </summary>
[HostOperation("hop-faults")]
public sealed record SetHopFaults(IReadOnlyList<HopFaultRule> Rules) : IHostRequest<HopFaultsSet>;

/// <summary>A route or egress rule as the egress guard applies it (fault-rules.mjs): the catalogue entry already resolved.</summary>
public sealed record HopFaultRule(
    string Service,
    string Stack,
    string Operation,
    double Probability,
    int? Times,
    string? Message,
    int LatencyMs,
    int JitterMs,
    DateTimeOffset? From,
    DateTimeOffset? Until);

public sealed record HopFaultsSet(int Rules);

/// <summary>The host's answer to start/redeploy: where the stack serves and which workerd runs it.</summary>
public sealed record HostStackStarted(string Name, string Worker, string State, string Url, int? Pid, IReadOnlyList<string> Migrations, int ReadyMs, int StartMs);

public sealed record HostStackStopped(string Name, string State);

public sealed record WorkerBundle(string Script, string CompatibilityDate, IReadOnlyList<string> CompatibilityFlags);

public sealed record LiveBindings(IReadOnlyList<string> Bindings);

/// <summary>The hosts (exact or *.suffix) Workers may fetch, and the local Cloudflare API's host:port (standing for api.cloudflare.com).</summary>
public sealed record EgressPolicy(IReadOnlyList<string> Allow, string? CloudflareApi);

public sealed record EgressLog(IReadOnlyDictionary<string, IReadOnlyList<EgressRecord>> Stacks);

public sealed record PublishedRelease(IReadOnlyList<string> Keys);

public sealed record ReplicaDatabasesAdded(string Name, int ReplicaSlots);

public sealed record PartitionState(string Name, bool Partitioned);

public sealed record TelemetryRecordingState(string Name, bool Recording);

/// <summary>Where a stack's control entrypoint listens, and the secret each call to it carries (the host's control event).</summary>
public sealed record StackControl(Uri Url, string Secret)
{
    /// <summary>Never the secret: records print every member, and this one may end up in a log.</summary>
    public override string ToString() => $"StackControl {{ Url = {Url}, Secret = (hidden) }}";
}
