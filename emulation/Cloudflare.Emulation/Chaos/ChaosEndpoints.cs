using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.Chaos;

/// <summary>
/// <c>/__emulator/chaos/faults</c> on the local Cloudflare API (its token required), in LocalStack's
/// Chaos API shape: GET reads the rules, POST replaces them (<c>[]</c> clears), PATCH appends, DELETE
/// removes every rule that matches one of the given patterns (the fields a pattern names).
/// </summary>
internal static class ChaosEndpoints
{
    public const string Path = "/__emulator/chaos/faults";

    public static void Map(IEndpointRouteBuilder app, ChaosFaults chaos)
    {
        app.MapGet(Path, () => Api.Ok(chaos.Rules));
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
            return Api.Ok(await chaos.ChangeAsync(rules => [.. rules.Where(rule => !patterns.Any(p => Matches(rule, p)))], ct));
        });
    }

    private static async Task<IResult> ChangeAsync(HttpRequest request, ChaosFaults chaos,
        Func<IReadOnlyList<FaultRule>, IReadOnlyList<FaultRule>, IReadOnlyList<FaultRule>> change, CancellationToken ct)
    {
        List<FaultRule>? given;
        try
        {
            given = await JsonSerializer.DeserializeAsync<List<FaultRule>>(request.Body, JsonSerializerOptions.Web, ct);
        }
        catch (JsonException ex)
        {
            return Api.Invalid($"{ex.Path?.TrimStart('$') ?? "body"}: not a valid rule field ({ex.Message.Split(". Path:")[0]})");
        }
        if (given is null || given.Any(r => r is null))
        {
            return Api.Invalid("body: an array of fault rules");
        }
        if (chaos.Problem(given) is { } problem)
        {
            return Api.Invalid(problem);
        }
        return Api.Ok(await chaos.ChangeAsync(rules => change(rules, given), ct));
    }

    /// <summary>Whether a rule has every field the pattern gives, with the pattern's value.</summary>
    private static bool Matches(FaultRule rule, JsonElement pattern)
    {
        var fields = JsonSerializer.SerializeToElement(rule);
        return pattern.EnumerateObject().All(p => fields.TryGetProperty(p.Name, out var value) && value.GetRawText() == p.Value.GetRawText());
    }
}
