using Cloudflare.Emulation.Chaos;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// What one stack's control entrypoint is handed (<c>PUT /faults</c>, control-entrypoint.js): the rules
/// that apply to it, resolved to the text each binding throws; each service's effect; each KV
/// binding's propagation delay, by binding name; the size limit of its D1 databases (none: D1's own).
/// </summary>
public sealed record StackFaults(
    IReadOnlyList<BindingFaultRule> Rules,
    IReadOnlyDictionary<string, ServiceEffect> Effects,
    IReadOnlyDictionary<string, KvStalenessSetting> Staleness,
    long? D1MaxSizeBytes = null);

/// <summary>A fault rule as a binding applies it (fault-rules.mjs): the catalogue entry already resolved.</summary>
public sealed record BindingFaultRule(
    string Service,
    string Operation,
    double Probability,
    int? Times,
    string? Message,
    int? Code,
    int? Status,
    int LatencyMs,
    int JitterMs,
    DateTimeOffset? From,
    DateTimeOffset? Until);

public sealed record KvStalenessSetting(int DelayMs, double Probability);
