using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// An architect's controls for a D1 row's emulated read replicas (count, lag, frozen replicas), and
/// the row's summary of them. The same as PUT /__emulator/stacks/{stack}/d1/{binding}/replication.
/// </summary>
internal sealed class ReplicationCommands(
    StackSupervisor supervisor,
    IInteractionService interactions,
    ResourceNotificationService notifications,
    ResourceLoggerService loggers)
{
    /// <summary>Asks for replica count, lag and frozen replicas (the dashboard's dialog), then applies them.</summary>
    public async Task<ExecuteCommandResult> ConfigureAsync(StackBindingResource d1, CancellationToken cancellationToken)
    {
        if (!interactions.IsAvailable)
        {
            return CommandResults.Failure("No dashboard to ask in: use PUT /__emulator/stacks/{stack}/d1/{binding}/replication.");
        }
        JsonElement current;
        try
        {
            current = await supervisor.D1ReplicationAsync(d1.Parent.StackName, d1.Binding, null, cancellationToken);
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException)
        {
            return CommandResults.Failure(ex.Message);
        }
        var answer = await interactions.PromptInputsAsync(
            $"Read replicas of {d1.Name}",
            "Reads in a D1 session (withSession) may be served by a replica that applies the primary's writes after the lag. 0 replicas turns replication off.",
            [
                new InteractionInput { Name = "replicas", Label = "Replicas", InputType = InputType.Number, Required = true, Value = current.GetProperty("replicas").ToString() },
                new InteractionInput { Name = "lagMs", Label = "Lag (ms)", InputType = InputType.Number, Required = true, Value = current.GetProperty("lagMs").ToString() },
                new InteractionInput { Name = "frozen", Label = "Frozen replicas (e.g. 0,1)", InputType = InputType.Text, Value = string.Join(',', current.GetProperty("frozen").EnumerateArray()) },
            ],
            cancellationToken: cancellationToken);
        if (answer.Canceled)
        {
            return CommandResults.Canceled();
        }
        if (!int.TryParse(answer.Data["replicas"].Value, out var replicas) || !int.TryParse(answer.Data["lagMs"].Value, out var lag))
        {
            return CommandResults.Failure("replicas and lag must be whole numbers");
        }
        var frozen = new List<int>();
        foreach (var part in (answer.Data["frozen"].Value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, out var index))
            {
                return CommandResults.Failure($"frozen: '{part}' is not a replica index");
            }
            frozen.Add(index);
        }
        return await ChangeAsync(d1, new { replicas, lagMs = lag, frozen }, cancellationToken);
    }

    /// <summary>Applies replication settings (none: only reads them) to a D1 row's database and shows the result on the row.</summary>
    public async Task<ExecuteCommandResult> ChangeAsync(StackBindingResource d1, object? settings, CancellationToken cancellationToken)
    {
        try
        {
            var status = await supervisor.D1ReplicationAsync(d1.Parent.StackName, d1.Binding, settings, cancellationToken);
            var summary = Summary(status);
            await notifications.PublishUpdateAsync(d1, s => s with
            {
                Properties = s.Properties.SetItem("d1.replication", summary).SetItem("d1.bookmark", status.GetProperty("bookmark").GetString() ?? ""),
            });
            if (settings is not null)
            {
                loggers.GetLogger(d1.Parent).LogInformation("{Binding} read replication: {Summary}", d1.Binding, summary);
            }
            return CommandResults.Success($"{d1.Name}: {summary}");
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    private static string Summary(JsonElement status)
    {
        var replicas = status.GetProperty("replicas").GetInt32();
        if (replicas == 0)
        {
            return "off (primary only)";
        }
        var states = status.GetProperty("replicaState").EnumerateArray().Select(r =>
            $"{r.GetProperty("index").GetInt32()}:{r.GetProperty("region").GetString()}{(r.GetProperty("frozen").GetBoolean() ? " frozen" : "")}");
        return $"{replicas} replica(s), lag {status.GetProperty("lagMs").GetInt32()} ms [{string.Join(", ", states)}]";
    }
}
