using System.Text.Json.Serialization;

namespace Cloudflare.Emulation.Chaos;

/// <summary>
/// A fault rule of the chaos API (LocalStack's Chaos API shape): which stack and operation it hits,
/// how often, and what happens — an error from the catalogue, latency, or both.
/// </summary>
public sealed record FaultRule(
    [property: JsonPropertyName("stack")] string Stack,
    [property: JsonPropertyName("service")] string Service,
    [property: JsonPropertyName("operation")] string Operation = "*",
    [property: JsonPropertyName("probability")] double Probability = 1,
    [property: JsonPropertyName("times")] int? Times = null,
    [property: JsonPropertyName("error")] string? Error = null,
    [property: JsonPropertyName("latencyMs")] int LatencyMs = 0,
    [property: JsonPropertyName("jitterMs")] int JitterMs = 0,
    [property: JsonPropertyName("from")] DateTimeOffset? From = null,
    [property: JsonPropertyName("until")] DateTimeOffset? Until = null)
{
    /// <summary>What is wrong with the rule, naming the field (<paramref name="at"/> says which rule), or null.</summary>
    public string? Problem(string at, Func<string, bool> stackExists)
    {
        if (string.IsNullOrEmpty(Stack) || (Stack != "*" && !stackExists(Stack)))
        {
            return $"{at}.stack: '{Stack}' is no stack of this harness (a stack's name, or \"*\")";
        }
        if (!FaultCatalogue.Operations.TryGetValue(Service ?? "", out var operations))
        {
            return $"{at}.service: '{Service}' is not one whose faults are emulated ({string.Join(", ", FaultCatalogue.Operations.Keys)})";
        }
        if (Service == "api" && (Stack != "*" || string.IsNullOrEmpty(Operation)))
        {
            return Stack != "*" ? $"{at}.stack: the Cloudflare API serves every stack: \"*\"" : $"{at}.operation: an API operation's name (e.g. d1.create) or \"*\"";
        }
        if (Service != "api" && !operations.Contains(Operation))
        {
            return $"{at}.operation: '{Operation}' is not a {Service} operation ({string.Join(", ", operations)})";
        }
        if (Probability is < 0 or > 1 || double.IsNaN(Probability))
        {
            return $"{at}.probability: from 0 to 1";
        }
        if (Times is < 1)
        {
            return $"{at}.times: at least 1 (leave it out for no limit)";
        }
        if (Error is not null && FaultCatalogue.Find(Error) is not { } error)
        {
            return $"{at}.error: '{Error}' is not in the catalogue ({string.Join(", ", FaultCatalogue.Errors.Where(e => e.Service == Service).Select(e => e.Name))})";
        }
        if (Error is not null && FaultCatalogue.Find(Error)!.Service != Service)
        {
            return $"{at}.error: '{Error}' is a {FaultCatalogue.Find(Error)!.Service} error, not a {Service} one";
        }
        if (Error is not null && FaultCatalogue.Find(Error)!.Operations is { } raisedBy && !raisedBy.Contains(Operation))
        {
            return $"{at}.operation: '{Error}' is raised by {string.Join(", ", raisedBy)} only, not '{Operation}'";
        }
        if (LatencyMs is < 0 or > 60_000 || JitterMs is < 0 or > 60_000)
        {
            return $"{at}.{(LatencyMs is < 0 or > 60_000 ? "latencyMs" : "jitterMs")}: from 0 to 60000";
        }
        if (Error is null && LatencyMs == 0 && JitterMs == 0)
        {
            return $"{at}.error: a rule needs an error, latency, or both";
        }
        if (From is { } from && Until is { } until && until <= from)
        {
            return $"{at}.until: after from";
        }
        return null;
    }

    public bool Applies(string stack) => Stack == "*" || Stack == stack;
}
