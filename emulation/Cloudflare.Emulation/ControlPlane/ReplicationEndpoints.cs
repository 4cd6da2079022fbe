using System.Text.Json;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The emulator's controls for D1 read replication (emulator-only routes, not Cloudflare's API):
/// per database — addressed by stack and binding, so the platform's shared D1 and every account's D1
/// alike — the replica count, the lag, frozen replicas, and a session console to see what a bookmark reads.
/// </summary>
internal static class ReplicationEndpoints
{
    public static void Map(IEndpointRouteBuilder app, StackSupervisor supervisor)
    {
        var d1 = app.MapGroup("/__emulator/stacks/{stack}/d1/{binding}");
        d1.MapGet("/replication", (string stack, string binding, CancellationToken ct) =>
            RunAsync(supervisor, stack, () => supervisor.D1ReplicationAsync(stack, binding, null, ct))).WithName("emulator.d1.replication.get");
        d1.MapPut("/replication", async (string stack, string binding, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null)
            {
                return Api.Invalid("body: a JSON object with replicas, lagMs and/or frozen is required");
            }
            if (SettingsProblem(body.Value) is { } error)
            {
                return Api.Invalid(error);
            }
            return await RunAsync(supervisor, stack, () => supervisor.D1ReplicationAsync(stack, binding, body.Value, ct));
        }).WithName("emulator.d1.replication.set");
        d1.MapPost("/session", async (string stack, string binding, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("statements", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            {
                return Api.Invalid("statements: a non-empty array of { sql, params } is required");
            }
            var bookmark = body.Value.TryGetProperty("bookmark", out var b) && b.ValueKind == JsonValueKind.String ? b.Text() : null;
            var statements = new List<(string, IReadOnlyList<object?>)>();
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("sql", out var sql) || sql.Text() is not { Length: > 0 } text)
                {
                    return Api.Invalid("statements: every statement needs sql");
                }
                var parameters = item.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array
                    ? p.EnumerateArray().Select(ResourceEndpoints.Scalar).ToList()
                    : [];
                statements.Add((text, parameters));
            }
            return await RunAsync(supervisor, stack, () => supervisor.D1SessionAsync(stack, binding, bookmark, statements, ct));
        }).WithName("emulator.d1.session");
    }

    /// <summary>What is wrong with new settings (null: nothing), checked here so a bad request names its field before reaching the stack.</summary>
    private static string? SettingsProblem(JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "replicas" when property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var r) || r < 0:
                    return "replicas: a whole number of replicas, 0 (off) or more";
                case "lagMs" when property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var l) || l is < 0 or > 600_000:
                    return "lagMs: the replica lag in milliseconds, 0 to 600000";
                case "frozen" when property.Value.ValueKind != JsonValueKind.Array
                                   || property.Value.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.Number || !i.TryGetInt32(out var n) || n < 0):
                    return "frozen: an array of replica indexes (0, 1, ...)";
                case "replicas" or "lagMs" or "frozen":
                    break;
                default:
                    return $"{property.Name}: unknown setting (replicas, lagMs, frozen)";
            }
        }
        return null;
    }

    private static async Task<IResult> RunAsync(StackSupervisor supervisor, string stack, Func<Task<JsonElement>> action)
    {
        if (await supervisor.SettledAsync(stack, Api.ReloadWait, CancellationToken.None) is not { State: StackState.Running })
        {
            return Api.Error(StatusCodes.Status409Conflict, Api.NotServing, $"stack: '{stack}' is not running");
        }
        try
        {
            return Api.Ok(await action());
        }
        catch (RuntimeHostException ex)
        {
            return Api.Invalid(ex.Message);
        }
    }
}
