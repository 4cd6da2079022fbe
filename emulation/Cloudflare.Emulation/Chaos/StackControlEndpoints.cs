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
