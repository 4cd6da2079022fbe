using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.Chaos;

/// <summary>
/// <c>POST /__emulator/stacks/&lt;name&gt;/{kill,restart,pause,resume,partition,heal}</c> on the local Cloudflare API
/// (its token required): a machine failure on demand for any stack, including accounts signed up at
/// run time. Kill is SIGKILL of its workerd (the stack is crashed until restarted); pause is SIGSTOP
/// (requests hang, then time out) until resume; partition cuts every other stack's route to it (the
/// platform's calls fail as a lost connection; its own port still answers) until heal. Answers the
/// stack's status. <c>GET /__emulator/stacks/&lt;name&gt;/usage</c> reads what its Worker has used since it
/// started (requests, per-invocation peaks, D1/R2/KV calls: <see cref="StackUsage"/>).
/// <c>GET</c>/<c>PUT /__emulator/stacks/&lt;name&gt;/telemetry</c> reads or sets whether its invocations are recorded.
/// </summary>
internal static class StackControlEndpoints
{
    private static readonly string[] Actions = ["kill", "restart", "pause", "resume", "partition", "heal"];

    public static void Map(IEndpointRouteBuilder app, StackSupervisor supervisor)
    {
        // What the stack's Worker has used since its workerd started, as production would bill and limit it.
        // DELETE …/usage/peaks: the same, then its per-invocation peaks start again (a measuring window of one's own).
        app.MapMethods("/__emulator/stacks/{name}/usage/peaks", ["DELETE"], (string name, CancellationToken ct) => UsageAsync(supervisor, name, resetPeaks: true, ct));
        app.MapGet("/__emulator/stacks/{name}/usage", (string name, CancellationToken ct) => UsageAsync(supervisor, name, resetPeaks: false, ct));

        // Whether the stack's invocations are recorded (spans, logs, metrics): PUT {"recording": false} stops it
        // until PUT {"recording": true}, and a restart of the stack keeps it.
        app.MapGet("/__emulator/stacks/{name}/telemetry", async (string name, CancellationToken ct) =>
        {
            if (supervisor.Find(name) is not { } status)
            {
                return Api.NotFound($"stack {name}");
            }
            // A running stack's isolate says what it does; otherwise, what it will do when it starts.
            bool? isolate = null;
            if (supervisor.Telemetry is not null && status is { State: StackState.Running, Paused: false })
            {
                try
                {
                    isolate = await supervisor.IsolateRecordingAsync(name, ct);
                }
                catch (RuntimeHostException)
                {
                    // Not answering now: the setting is what it will take.
                }
            }
            return Api.Ok(Recording(supervisor, status, isolate));
        });
        app.MapPut("/__emulator/stacks/{name}/telemetry", async (string name, HttpRequest request, CancellationToken ct) =>
        {
            if (supervisor.Find(name) is null)
            {
                return Api.NotFound($"stack {name}");
            }
            if (await RecordingAsked(request, ct) is not { } recording)
            {
                return Api.Invalid("recording: true or false, e.g. {\"recording\": false}");
            }
            try
            {
                return Api.Ok(Recording(supervisor, await supervisor.SetTelemetryRecordingAsync(name, recording, ct)));
            }
            catch (InvalidOperationException ex)
            {
                return Api.Error(StatusCodes.Status409Conflict, Api.NotServing, ex.Message);
            }
            catch (RuntimeHostException ex)
            {
                return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"stack {name}: {ex.Message}");
            }
        });

        app.MapPost("/__emulator/stacks/{name}/{action}", async (string name, string action, CancellationToken ct) =>
        {
            if (!Actions.Contains(action))
            {
                return Api.Invalid($"action: '{action}' is not one of {string.Join(", ", Actions)}");
            }
            if (supervisor.Find(name) is not { } current)
            {
                return Api.NotFound($"stack {name}");
            }
            // A stopped stack was stopped on purpose (its script deleted, its resource taken over by a
            // Worker): restarting it here would bring it back behind its owner's back.
            if (current.State == StackState.Stopped)
            {
                return Api.Error(StatusCodes.Status409Conflict, Api.NotServing, $"stack '{name}' is stopped (deleted, or taken over); nothing to {action}");
            }
            try
            {
                var status = action switch
                {
                    "kill" => await supervisor.KillStackAsync(name, ct),
                    "restart" => await supervisor.RestartStackAsync(name, ct),
                    "pause" => supervisor.PauseStack(name, paused: true),
                    "partition" => await supervisor.PartitionStackAsync(name, partitioned: true, ct),
                    "heal" => await supervisor.PartitionStackAsync(name, partitioned: false, ct),
                    "resume" => supervisor.PauseStack(name, paused: false),
                    _ => throw new InvalidOperationException($"action: '{action}' is not handled"),
                };
                return Api.Ok(new
                {
                    name = status.Name,
                    state = status.State.ToString().ToLowerInvariant(),
                    paused = status.Paused,
                    partitioned = status.Partitioned,
                    crashed = status.Crashed,
                    pid = status.ProcessId,
                });
            }
            catch (InvalidOperationException ex)
            {
                return Api.Error(StatusCodes.Status409Conflict, Api.NotServing, ex.Message);
            }
            catch (RuntimeHostException ex)
            {
                return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"stack {name}: {ex.Message}");
            }
        });
    }

    private static object Recording(StackSupervisor supervisor, StackStatus status, bool? isolate = null) =>
        new { name = status.Name, traced = supervisor.Telemetry is not null, recording = supervisor.Telemetry is not null && (isolate ?? !status.TelemetryStopped) };

    /// <summary>The body's <c>recording</c>, or null when the body is not an object with a boolean there.</summary>
    private static async Task<bool?> RecordingAsked(HttpRequest request, CancellationToken ct)
    {
        try
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, cancellationToken: ct);
            return body.ValueKind == JsonValueKind.Object && body.TryGetProperty("recording", out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? value.GetBoolean()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<IResult> UsageAsync(StackSupervisor supervisor, string name, bool resetPeaks, CancellationToken ct)
    {
        if (supervisor.Find(name) is null)
        {
            return Api.NotFound($"stack {name}");
        }
        try
        {
            return Api.Ok(await supervisor.UsageAsync(name, ct, resetPeaks));
        }
        catch (RuntimeHostException ex)
        {
            return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"stack {name}: {ex.Message}");
        }
    }
}
