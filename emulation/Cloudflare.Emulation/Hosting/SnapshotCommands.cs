using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Snapshots;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// The emulator row's "Save snapshot" and "Restore snapshot…": the same as POST
/// /__emulator/snapshots and /__emulator/snapshots/&lt;name&gt;/restore, with the dashboard asking
/// for the name (or offering the snapshots there are).
/// </summary>
internal sealed class SnapshotCommands(HarnessRun run, ControlPlaneHandle controlPlane, IInteractionService interactions, ResourceLoggerService loggers)
{
    public async Task<ExecuteCommandResult> SaveAsync(CancellationToken cancellationToken)
    {
        if (controlPlane.Server?.Snapshots is not { } snapshots || run.Emulator is not { } emulator)
        {
            return CommandResults.Failure("The emulator is not running yet.");
        }
        var name = $"snapshot-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}";
        if (interactions.IsAvailable)
        {
            var answer = await interactions.PromptInputAsync("Save snapshot",
                "Copies every stack's D1, R2 and KV and the Cloudflare API's records, each stack paused only while its own files are copied.",
                new InteractionInput { Name = "name", Label = "Name", InputType = InputType.Text, Required = true, Value = name },
                cancellationToken: cancellationToken);
            if (answer.Canceled)
            {
                return CommandResults.Canceled();
            }
            name = answer.Data.Value ?? name;
        }
        return await RunAsync(emulator, async () =>
        {
            var manifest = await snapshots.SaveAsync(name, cancellationToken);
            return $"Saved snapshot {manifest.Name}: {manifest.Stacks.Count} stacks, {manifest.Bytes / 1024} KiB, in {manifest.DurationMs} ms";
        });
    }

    public async Task<ExecuteCommandResult> RestoreAsync(CancellationToken cancellationToken)
    {
        if (controlPlane.Server?.Snapshots is not { } snapshots || run.Emulator is not { } emulator)
        {
            return CommandResults.Failure("The emulator is not running yet.");
        }
        var saved = snapshots.List();
        if (saved.Count == 0)
        {
            return CommandResults.Failure("There is no snapshot to restore: save one first.");
        }
        if (!interactions.IsAvailable)
        {
            return CommandResults.Failure("No dashboard to ask in: use POST /__emulator/snapshots/<name>/restore.");
        }
        var answer = await interactions.PromptInputAsync("Restore snapshot",
            "Stops every stack, puts back the data and records the snapshot holds, and starts again what they define. Changes since it are lost.",
            new InteractionInput
            {
                Name = "name",
                Label = "Snapshot",
                InputType = InputType.Choice,
                Required = true,
                Options = [.. saved.OrderByDescending(s => s.CreatedAt).Select(s => KeyValuePair.Create(s.Name, $"{s.Name} ({s.CreatedAt:u})"))],
            },
            cancellationToken: cancellationToken);
        if (answer.Canceled || answer.Data.Value is not { } name)
        {
            return CommandResults.Canceled();
        }
        return await RunAsync(emulator, async () =>
        {
            var restore = await snapshots.RestoreAsync(name, cancellationToken);
            return $"Restored snapshot {restore.Name} in {restore.DurationMs} ms: {restore.Started.Count} stacks started"
                + (restore.Stopped.Count > 0 ? $", left stopped: {string.Join(", ", restore.Stopped)}" : "")
                + (restore.Failed.Count > 0 ? $", failed: {string.Join("; ", restore.Failed)}" : "");
        });
    }

    private async Task<ExecuteCommandResult> RunAsync(IResource emulator, Func<Task<string>> run)
    {
        try
        {
            var message = await run();
            loggers.GetLogger(emulator).LogInformation("{Message}", message);
            return CommandResults.Success(message);
        }
        catch (Exception ex) when (ex is SnapshotException or IOException or Runtime.RuntimeHostException)
        {
            loggers.GetLogger(emulator).LogError("{Message}", ex.Message);
            return CommandResults.Failure(ex.Message);
        }
    }
}
