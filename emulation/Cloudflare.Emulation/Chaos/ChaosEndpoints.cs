using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.Chaos;

/// <summary>
/// The chaos API on the local Cloudflare API (its token required), in LocalStack's Chaos API shape:
/// <c>/__emulator/chaos/faults</c> — GET reads the rules, POST replaces them (<c>[]</c> clears), PATCH
/// appends, DELETE removes every rule that matches one of the given patterns (the fields a pattern
/// names); <c>/__emulator/chaos/effects</c> — GET, POST (replaces; <c>{}</c> clears) latency for whole
/// services; <c>/__emulator/chaos/kv-staleness</c> — GET, POST (replaces) KV propagation delays;
/// <c>/__emulator/chaos/d1-size-limits</c> — GET, POST (replaces) D1 size limits per stack.
/// </summary>
internal static class ChaosEndpoints
{
    public const string Path = "/__emulator/chaos/faults";
    public const string EffectsPath = "/__emulator/chaos/effects";
    public const string KvStalenessPath = "/__emulator/chaos/kv-staleness";
    public const string D1SizeLimitsPath = "/__emulator/chaos/d1-size-limits";

    public static void Map(IEndpointRouteBuilder app, ChaosFaults chaos)
    {
        app.MapGet(Path, () => Api.Ok(chaos.Settings.Rules));
        app.MapPost(Path, (HttpRequest request, CancellationToken ct) => ChangeAsync(request, chaos, (_, given) => given, ct));
        app.MapPatch(Path, (HttpRequest request, CancellationToken ct) => ChangeAsync(request, chaos, (rules, given) => [.. rules, .. given], ct));
        app.MapDelete(Path, async (HttpRequest request, CancellationToken ct) =>
        {
            List<JsonElement>? patterns;
            try
            {
                patterns = await JsonSerializer.DeserializeAsync<List<JsonElement>>(request.Body, cancellationToken: ct);
            }
            catch (JsonException ex)
            {
                return Api.Invalid($"body: an array of rule patterns ({ex.Path}: {ex.Message})");
            }
            if (patterns is null || patterns.Any(p => p.ValueKind != JsonValueKind.Object))
            {
                return Api.Invalid("body: an array of rule patterns, e.g. [{\"stack\": \"acct-acme\"}]");
            }
            var settings = await chaos.ChangeAsync(s => s with { Rules = [.. s.Rules.Where(rule => !patterns.Any(p => Matches(rule, p)))] }, ct);
            return Api.Ok(settings.Rules);
        });

        app.MapGet(EffectsPath, () => Api.Ok(chaos.Settings.Effects));
        app.MapPost(EffectsPath, async (HttpRequest request, CancellationToken ct) =>
        {
            var (effects, invalid) = await ReadAsync<Dictionary<string, ServiceEffect?>>(request, "an object of services, e.g. {\"d1\": {\"latencyMs\": 200}}", ct);
            if (invalid is not null)
            {
                return invalid;
            }
            if (ServiceEffect.Problem(effects!) is { } problem)
            {
                return Api.Invalid(problem);
            }
            var settings = await chaos.ChangeAsync(s => s with { Effects = effects!.Where(e => !e.Value!.IsNone).ToDictionary(e => e.Key, e => e.Value!) }, ct);
            return Api.Ok(settings.Effects);
        });

        MapList(app, chaos, KvStalenessPath, "an array of delays, e.g. [{\"stack\": \"acct-acme\", \"delayMs\": 60000}]",
            s => s.KvStaleness, chaos.Problem, (s, given) => s with { KvStaleness = given });
        MapList(app, chaos, D1SizeLimitsPath, "an array of limits, e.g. [{\"stack\": \"acct-acme\", \"maxSizeBytes\": 52428800}]",
            s => s.SizeLimits, chaos.Problem, (s, given) => s with { D1SizeLimits = given });
    }

    /// <summary>GET, and POST replacing it, for one list the chaos API keeps (checked first; a bad item changes nothing).</summary>
    private static void MapList<T>(IEndpointRouteBuilder app, ChaosFaults chaos, string path, string expected,
        Func<ChaosSettings, IReadOnlyList<T>> read, Func<IReadOnlyList<T>, string?> problem, Func<ChaosSettings, IReadOnlyList<T>, ChaosSettings> replace)
        where T : class
    {
        app.MapGet(path, () => Api.Ok(read(chaos.Settings)));
        app.MapPost(path, async (HttpRequest request, CancellationToken ct) =>
        {
            var (given, invalid) = await ReadListAsync(request, expected, problem, ct);
            return invalid ?? Api.Ok(read(await chaos.ChangeAsync(s => replace(s, given!), ct)));
        });
    }

    /// <summary>The body as a list of <typeparamref name="T"/> that checks out, or a 400 naming what does not.</summary>
    private static async Task<(List<T>? Items, IResult? Invalid)> ReadListAsync<T>(HttpRequest request, string expected,
        Func<IReadOnlyList<T>, string?> problem, CancellationToken ct) where T : class
    {
        var (items, invalid) = await ReadAsync<List<T?>>(request, expected, ct);
        if (invalid is not null)
        {
            return (null, invalid);
        }
        if (items!.Any(i => i is null))
        {
            return (null, Api.Invalid($"body: {expected}"));
        }
        var given = items!.OfType<T>().ToList();
        return problem(given) is { } found ? (null, Api.Invalid(found)) : (given, null);
    }

    private static async Task<IResult> ChangeAsync(HttpRequest request, ChaosFaults chaos,
        Func<IReadOnlyList<FaultRule>, IReadOnlyList<FaultRule>, IReadOnlyList<FaultRule>> change, CancellationToken ct)
    {
        var (rules, invalid) = await ReadListAsync<FaultRule>(request, "an array of fault rules", chaos.Problem, ct);
        return invalid ?? Api.Ok((await chaos.ChangeAsync(s => s with { Rules = change(s.Rules, rules!) }, ct)).Rules);
    }

    /// <summary>The body as <typeparamref name="T"/>, or a 400 naming the field that did not read (or the body, when absent).</summary>
    private static async Task<(T? Value, IResult? Invalid)> ReadAsync<T>(HttpRequest request, string expected, CancellationToken ct) where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, JsonSerializerOptions.Web, ct);
            return value is null ? (null, Api.Invalid($"body: {expected}")) : (value, null);
        }
        catch (JsonException ex)
        {
            var field = ex.Path?.TrimStart('$') is { Length: > 0 } path ? path : "body";
            return (null, Api.Invalid($"{field}: not valid here, {expected} ({ex.Message.Split(". Path:")[0]})"));
        }
    }

    /// <summary>Whether a rule has every field the pattern gives, with the pattern's value.</summary>
    private static bool Matches(FaultRule rule, JsonElement pattern)
    {
        var fields = JsonSerializer.SerializeToElement(rule);
        return pattern.EnumerateObject().All(p => fields.TryGetProperty(p.Name, out var value) && value.GetRawText() == p.Value.GetRawText());
    }
}
