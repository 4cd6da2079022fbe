using System.Collections.Immutable;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// Mirrors the supervisor into the dashboard: each stack's row (state, URL, workerd, last error),
/// its binding rows, and its workerd's log; a script deployed at run time (an account signed up
/// while the harness runs) gets a row of its own, with the commands of the AppHost's account rows.
/// </summary>
internal sealed class StackRows(
    HarnessRun run,
    ControlPlaneHandle controlPlane,
    AccountCommands accounts,
    ReplicationCommands replication,
    ResourceNotificationService notifications,
    ResourceLoggerService loggers,
    ILogger<StackRows> logger)
{
    private readonly System.Threading.Channels.Channel<StackStatus> _changes =
        System.Threading.Channels.Channel.CreateUnbounded<StackStatus>(new() { SingleReader = true });
    private int _publishing;
    /// <summary>The platform's port, once it serves: tenants' hosts (their web app) are reached through it.</summary>
    private int? _platformPort;

    /// <summary>
    /// Shows a stack's change on its rows, after every change before it: published one at a time, in
    /// order, so a quick Starting → FailedToStart never ends on the row as Starting.
    /// </summary>
    public void Enqueue(StackStatus status)
    {
        _changes.Writer.TryWrite(status);
        if (Interlocked.Exchange(ref _publishing, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                await foreach (var change in _changes.Reader.ReadAllAsync())
                {
                    try
                    {
                        await PublishAsync(change);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // One row that cannot be published must not stop the rows after it.
                        logger.LogDebug(ex, "Publishing state of {Stack} failed", change.Name);
                    }
                }
            });
        }
    }

    private async Task PublishAsync(StackStatus status)
    {
        if (!run.Stacks.TryGetValue(status.Name, out var stack))
        {
            if (status.Worker != "upload" || run.Emulator is not { } emulator)
            {
                return;
            }
            stack = await AddRunTimeRowAsync(status.Name, emulator);
        }
        var state = ToSnapshotState(status);
        AllocateEndpoint(stack, status.Url);
        if (stack.Kind == StackKind.Platform && status.Url is { } platformUrl)
        {
            _platformPort = new Uri(platformUrl).Port;
        }
        List<UrlSnapshot> urls = status.Url is null ? [] : [new UrlSnapshot("http", status.Url, IsInternal: false)];
        // An account's advisers' web app: its own host name, through the platform, as a browser reaches it.
        if (stack.Kind == StackKind.Account && _platformPort is { } port && controlPlane.Server is { } server)
        {
            urls.Add(new UrlSnapshot("web app", $"http://{StackName.RowNameOf(status.Name)}.{server.ZoneName}:{port}/", IsInternal: false));
        }
        try
        {
            await notifications.PublishUpdateAsync(stack, s => s with
            {
                State = state,
                Urls = [.. urls],
                StartTimeStamp = status.State == StackState.Running ? s.StartTimeStamp ?? DateTime.UtcNow : s.StartTimeStamp,
                StopTimeStamp = status.State is StackState.Failed or StackState.Stopped ? DateTime.UtcNow : null,
                Properties = s.Properties
                    .SetItem("stack.script", status.Name)
                    .SetItem("stack.url", status.Url ?? "")
                    .SetItem("stack.workerdPid", status.ProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "")
                    .SetItem("stack.stateDirectory", status.StateDirectory)
                    .SetItem("stack.lastError", status.LastError ?? ""),
            });
            foreach (var binding in stack.Bindings)
            {
                await notifications.PublishUpdateAsync(binding, s => s with { State = state });
                if (binding.ResourceType == StackBindingResource.D1 && status.State == StackState.Running)
                {
                    // Replication settings live in the database: show what this run inherited.
                    _ = replication.ChangeAsync(binding, null, CancellationToken.None);
                }
            }
            if (status.State == StackState.Failed && status.RecentLog is { Count: > 0 } recent)
            {
                loggers.GetLogger(stack).LogError("{Stack} failed: {Error}. Last log lines:\n{Lines}", status.Name, status.LastError, string.Join('\n', recent));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "Publishing state of {Stack} failed", status.Name);
        }
    }

    /// <summary>The row's http endpoint is where the stack serves (a stack keeps its port across restarts).</summary>
    private static void AllocateEndpoint(WorkerStackResource stack, string? url)
    {
        if (url is null || stack.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(a => a.Name == WorkerStackResource.HttpEndpointName) is not { } endpoint)
        {
            return;
        }
        var uri = new Uri(url);
        if (endpoint.AllocatedEndpoint is not { } allocated || allocated.Port != uri.Port)
        {
            endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, uri.Host, uri.Port);
        }
    }

    /// <summary>A stack's log line, in its row's log.</summary>
    public void Log(StackLogLine line)
    {
        if (!run.Stacks.TryGetValue(line.Stack, out var stack))
        {
            return;
        }
        var log = loggers.GetLogger(stack);
        if (line.Level == "error")
        {
            log.LogError("{Line}", line.Line);
        }
        else
        {
            log.LogInformation("{Line}", line.Line);
        }
    }

    /// <summary>Shows, on the account's child rows, the resources its script is bound to.</summary>
    public async Task PublishBindingsAsync(WorkerStackResource stack)
    {
        var script = controlPlane.Server!.Store.Snapshot.Scripts.FirstOrDefault(x => x.Name == stack.StackName);
        foreach (var child in stack.Bindings)
        {
            var binding = script?.Bindings.FirstOrDefault(b => b.Name == child.Binding);
            var id = binding?.Id ?? binding?.BucketName ?? binding?.NamespaceId ?? "";
            await notifications.PublishUpdateAsync(child, s => s with
            {
                Properties = s.Properties.SetItem("resource.id", id)
                    .SetItem("jurisdiction", binding?.Jurisdiction ?? (child.ResourceType == StackBindingResource.Kv ? "none (KV has no jurisdiction)" : "eu")),
            });
        }
    }

    private async Task<WorkerStackResource> AddRunTimeRowAsync(string name, CloudflareEmulatorResource emulator)
    {
        var stack = run.Stacks.GetOrAdd(name, _ =>
        {
            // An account's row is named after the account, as the AppHost's are (its script, acct-<slug>,
            // is the row's stack.script); any other uploaded script's row after the script. The
            // commands of the AppHost's account rows, and deletion.
            var rowName = StackName.RowNameOf(name);
            var resource = new WorkerStackResource(rowName, StackKind.Account, emulator);
            void Command(StackCommand command, Func<CancellationToken, Task<ExecuteCommandResult>> action, string? confirmation = null) =>
                resource.Annotations.Add(new ResourceCommandAnnotation(command.Id, command.Label, _ => ResourceCommandState.Enabled, ctx => action(ctx.CancellationToken),
                    command.Description, parameter: null, confirmationMessage: confirmation ?? command.Confirmation, iconName: command.Icon, iconVariant: null,
                    isHighlighted: command.Highlighted));
            Command(StackCommands.Restart, ct => accounts.RestartAsync(resource, ct));
            Command(StackCommands.Kill, ct => accounts.KillAsync(resource, ct));
            Command(StackCommands.Pause, _ => Task.FromResult(accounts.Pause(resource, paused: true)));
            Command(StackCommands.Resume, _ => Task.FromResult(accounts.Pause(resource, paused: false)));
            Command(StackCommands.IssueOwnerToken, ct => accounts.IssueOwnerTokenAsync(resource, ct));
            Command(StackCommands.SeedDemoData, ct => accounts.SeedDemoDataAsync(resource, ct));
            Command(StackCommands.DeleteAccount, ct => accounts.DeleteAsync(name, ct), confirmation: $"Delete {name} and all its data?");
            return resource;
        });
        var script = controlPlane.Server?.Store.Snapshot.Scripts.FirstOrDefault(x => x.Name == name);
        var bound = script?.Bindings.Where(b => b.Type is "d1" or "r2_bucket" or "kv_namespace")
            .Select(b => $"{b.Name}={b.Type}:{b.Id ?? b.BucketName ?? b.NamespaceId}") ?? [];
        await notifications.PublishUpdateAsync(stack, s => s with
        {
            ResourceType = WorkerStackResource.ResourceType,
            // Shown under the emulator, like the rows that are in the model.
            Relationships = [new RelationshipSnapshot(emulator.Name, "Parent")],
            // The dashboard nests a row under the one its resource.parentName names (Aspire sets it
            // only for resources in the model).
            Properties = s.Properties.SetItem("resource.parentName", emulator.Name)
                .SetItem("stack.kind", "Account (provisioned)").SetItem("stack.worker", "uploaded script")
                .SetItem("stack.bindings", string.Join(", ", bound)),
        });
        return stack;
    }

    /// <summary>Aspire's own states where one fits, so its waits see a stack that failed or stopped.</summary>
    internal static ResourceStateSnapshot ToSnapshotState(StackStatus status) => status.State switch
    {
        StackState.Starting => new(KnownResourceStates.Starting, KnownResourceStateStyles.Info),
        StackState.Running when status.Paused => new(PausedState, KnownResourceStateStyles.Warn),
        StackState.Running => new(KnownResourceStates.Running, KnownResourceStateStyles.Success),
        // No known state means "serving the old code while the new starts": a state of its own.
        StackState.Reloading => new(ReloadingState, KnownResourceStateStyles.Info),
        StackState.Stopped => new(KnownResourceStates.Exited, KnownResourceStateStyles.Warn),
        // workerd died under a running stack, or the stack never came up.
        _ => status.Crashed
            ? new(KnownResourceStates.Exited, KnownResourceStateStyles.Error)
            : new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
    };

    public const string ReloadingState = "Reloading";

    /// <summary>An architect paused its workerd (SIGSTOP): requests to it hang until it is resumed.</summary>
    public const string PausedState = "Paused";
}

internal static class PropertyExtensions
{
    /// <summary>Adds or replaces one property of a snapshot.</summary>
    public static ImmutableArray<ResourcePropertySnapshot> SetItem(this ImmutableArray<ResourcePropertySnapshot> properties, string name, object value)
    {
        var index = properties.IndexOf(properties.FirstOrDefault(p => p.Name == name)!);
        var property = new ResourcePropertySnapshot(name, value);
        return index >= 0 && properties[index].Name == name ? properties.SetItem(index, property) : properties.Add(property);
    }
}
