using System.Text.Json.Serialization;

namespace Cloudflare.Emulation.Chaos;

/// <summary>Latency added to every call of a whole service (the chaos API's effects).</summary>
public sealed record ServiceEffect(
    [property: JsonPropertyName("latencyMs")] int LatencyMs = 0,
    [property: JsonPropertyName("jitterMs")] int JitterMs = 0)
{
    /// <summary>The services an effect can slow down.</summary>
    public static readonly IReadOnlyList<string> Services = ["d1", "r2", "kv", "worker", "api"];

    /// <summary>What is wrong with the effects, naming the service and field; null when all are good.</summary>
    public static string? Problem(IReadOnlyDictionary<string, ServiceEffect?> effects)
    {
        foreach (var (service, effect) in effects)
        {
            if (!Services.Contains(service))
            {
                return $"{service}: not a service effects apply to ({string.Join(", ", Services)})";
            }
            if (effect is null)
            {
                return $"{service}: an object {{ \"latencyMs\": n, \"jitterMs\": n }}";
            }
            if (effect.LatencyMs is < 0 or > 60_000 || effect.JitterMs is < 0 or > 60_000)
            {
                return $"{service}.{(effect.LatencyMs is < 0 or > 60_000 ? "latencyMs" : "jitterMs")}: from 0 to 60000";
            }
        }
        return null;
    }

    public bool IsNone => LatencyMs == 0 && JitterMs == 0;
}

/// <summary>
/// KV's propagation delay for one stack's namespaces (one binding, or "*" for all): for that long
/// after a write, reads may see the key as it was before it (with <paramref name="Probability"/>).
/// </summary>
public sealed record KvStaleness(
    [property: JsonPropertyName("stack")] string Stack,
    [property: JsonPropertyName("binding")] string Binding = "*",
    [property: JsonPropertyName("delayMs")] int DelayMs = 60_000,
    [property: JsonPropertyName("probability")] double Probability = 1)
{
    /// <summary>What is wrong with the setting, naming the field (<paramref name="at"/> says which), or null.</summary>
    public string? Problem(string at, Func<string, IReadOnlyCollection<string>?> kvBindingsOf)
    {
        if (string.IsNullOrEmpty(Stack) || kvBindingsOf(Stack) is not { } bindings)
        {
            return $"{at}.stack: '{Stack}' is no stack of this harness";
        }
        if (Binding != "*" && !bindings.Contains(Binding))
        {
            return $"{at}.binding: '{Binding}' is not a KV binding of {Stack} ({(bindings.Count == 0 ? "it has none" : string.Join(", ", bindings))}, or \"*\")";
        }
        if (DelayMs is < 0 or > 600_000)
        {
            return $"{at}.delayMs: from 0 to 600000";
        }
        return Probability is < 0 or > 1 || double.IsNaN(Probability) ? $"{at}.probability: from 0 to 1" : null;
    }
}

/// <summary>
/// A D1 size limit for one stack's databases, lower than D1's 10 GB so it can be reached on purpose:
/// at or over it, writes are refused as D1 refuses them ("Exceeded maximum DB size").
/// </summary>
public sealed record D1SizeLimit(
    [property: JsonPropertyName("stack")] string Stack,
    [property: JsonPropertyName("maxSizeBytes")] long MaxSizeBytes)
{
    /// <summary>D1's own limit per database (paid plan).</summary>
    public const long D1Limit = 10L * 1000 * 1000 * 1000;

    public string? Problem(string at, Func<string, bool> hasD1)
    {
        if (string.IsNullOrEmpty(Stack) || !hasD1(Stack))
        {
            return $"{at}.stack: '{Stack}' is no stack of this harness with a D1 binding";
        }
        return MaxSizeBytes is < 1 or > D1Limit ? $"{at}.maxSizeBytes: from 1 to {D1Limit} (D1's own limit)" : null;
    }
}

/// <summary>Everything the chaos API has set: fault rules, service effects, KV propagation delays, D1 size limits.</summary>
public sealed record ChaosSettings(
    [property: JsonPropertyName("rules")] IReadOnlyList<FaultRule> Rules,
    [property: JsonPropertyName("effects")] IReadOnlyDictionary<string, ServiceEffect> Effects,
    [property: JsonPropertyName("kvStaleness")] IReadOnlyList<KvStaleness> KvStaleness,
    [property: JsonPropertyName("d1SizeLimits")] IReadOnlyList<D1SizeLimit>? D1SizeLimits = null)
{
    public static readonly ChaosSettings None = new([], new Dictionary<string, ServiceEffect>(), [], []);

    public IReadOnlyList<D1SizeLimit> SizeLimits => D1SizeLimits ?? [];

    public bool IsNone => Rules.Count == 0 && Effects.Values.All(e => e.IsNone) && KvStaleness.Count == 0 && SizeLimits.Count == 0;
}
