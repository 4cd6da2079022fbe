using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Hosting;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

// Aspire's convention: AddX extensions live in the Aspire.Hosting namespace.
namespace Aspire.Hosting;

/// <summary>Adds the local Cloudflare emulator and its Worker stacks to an Aspire application.</summary>
public static class CloudflareEmulatorBuilderExtensions
{
    /// <summary>
    /// Adds the emulator: a runtime host that runs every stack in its own workerd, and the supervisor
    /// that starts them when the application starts and stops them all when it stops.
    /// </summary>
    public static IResourceBuilder<CloudflareEmulatorResource> AddCloudflareEmulator(
        this IDistributedApplicationBuilder builder, string name, HarnessOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (builder.Resources.OfType<CloudflareEmulatorResource>().Any())
        {
            throw new InvalidOperationException("An application has one Cloudflare emulator; add stacks to it instead.");
        }

        builder.Services.TryAddSingleton(options);
        builder.Services.TryAddSingleton<StackSupervisor>();
        builder.Services.TryAddSingleton(_ => TokenIssuer.LoadOrCreate(options.StateRoot));
        // One small service per job (Hosting/): startup order, dashboard rows, accounts, commands.
        builder.Services.TryAddSingleton<HarnessRun>();
        builder.Services.TryAddSingleton<EmulatorStartup>();
        builder.Services.TryAddSingleton<StackRows>();
        builder.Services.TryAddSingleton<PlatformStack>();
        builder.Services.TryAddSingleton<AccountProvisioning>();
        builder.Services.TryAddSingleton<AccountCommands>();
        builder.Services.TryAddSingleton<ReplicationCommands>();
        builder.Services.TryAddSingleton<ReleaseRollout>();
        builder.Services.TryAddSingleton<EndpointsWriter>();
        builder.Services.TryAddSingleton<ResidencyCommand>();
        builder.Services.TryAddSingleton<SnapshotCommands>();
        builder.Services.TryAddSingleton<CustomHostnameCommand>();
        builder.Services.TryAddSingleton<ScenarioCommand>();
        builder.Services.TryAddSingleton<ControlPlaneHandle>();
        builder.Services.AddHostedService<SupervisorShutdownService>();

        var emulator = new CloudflareEmulatorResource(name);
        builder.AddResource(new CloudflareApiResource($"{name}-api", emulator))
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = CloudflareApiResource.ResourceType,
                State = KnownResourceStates.NotStarted,
                Properties = [],
            })
            .ExcludeFromManifest();
        return builder.AddResource(emulator)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = CloudflareEmulatorResource.ResourceType,
                State = KnownResourceStates.NotStarted,
                Properties =
                [
                    new("harness.stateRoot", options.StateRoot),
                    new("harness.workers", options.WorkersDirectory),
                    new("harness.hotReload", options.HotReload),
                ],
            })
            .OnInitializeResource((resource, e, ct) =>
                e.Services.GetRequiredService<EmulatorStartup>().StartAsync(resource, ct))
            .WithCommand("provision-account", "Provision account",
                ctx => ctx.Services.GetRequiredService<AccountProvisioning>().SignUpNextAsync(ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Sign up the next account-N: the platform provisions its D1, R2, KV and Worker through the Cloudflare API.",
                    IconName = "AddCircle",
                })
            .WithCommand("residency-report", "Residency report",
                ctx => ctx.Services.GetRequiredService<ResidencyCommand>().RunAsync(ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Audit every stack against the residency policy: D1 and R2 jurisdictions, live bindings, what KV holds, egress attempts. Table in this row's log; JSON in <state>/reports/residency.json.",
                    IconName = "ShieldCheckmark",
                })
            .WithCommand("save-snapshot", "Save snapshot",
                ctx => ctx.Services.GetRequiredService<SnapshotCommands>().SaveAsync(ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Snapshot the whole state (every stack's D1, R2 and KV, the platform registry, the Cloudflare API's records) under <state>/snapshots, while traffic flows.",
                    IconName = "Camera",
                })
            .WithCommand("restore-snapshot", "Restore snapshot…",
                ctx => ctx.Services.GetRequiredService<SnapshotCommands>().RestoreAsync(ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Put the whole state back as a snapshot holds it: every stack is stopped, its data replaced, and started again.",
                    IconName = "History",
                    ConfirmationMessage = "Restore a snapshot? Every change since it was taken is lost.",
                })
            .WithCommand("verify-custom-hostname", "Verify custom hostname…",
                ctx => ctx.Services.GetRequiredService<CustomHostnameCommand>().RunAsync(ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Take a pending custom hostname's (a tenant's own domain) ownership and certificate records as published: it becomes active and routes to its tenant.",
                    IconName = "Globe",
                })
            .WithCommand("run-scenario", "Run scenario…",
                ctx => ctx.Services.GetRequiredService<ScenarioCommand>().RunAsync(ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Run one of scenarios/*.json against this harness: traffic to its accounts while parts of it fail; table in this row's log, report and timeline in <state>/reports.",
                    IconName = "Beaker",
                })
            .ExcludeFromManifest();
    }

    /// <summary>
    /// Adds the shared platform stack: the platform Worker with the shared D1. It starts once the
    /// emulator runs, and is healthy once it answers and has published the account release.
    /// </summary>
    public static IResourceBuilder<WorkerStackResource> AddPlatformStack(
        this IResourceBuilder<CloudflareEmulatorResource> emulator, string name = "platform") =>
        emulator.AddStack(name, StackKind.Platform, (StackBindingResource.D1, "DB", "d1"))
            .WaitFor(emulator)
            .OnInitializeResource((stack, e, ct) => StartWhenReadyAsync(stack, e, ct,
                (services, ct) => services.GetRequiredService<EmulatorStartup>().StartPlatformAsync(stack, ct)));

    /// <summary>
    /// Adds one account's own stack: the account Worker bound to its own D1, R2 bucket and KV. The
    /// account is signed up through the platform when it starts: make it <c>WaitFor</c> the platform.
    /// </summary>
    public static IResourceBuilder<WorkerStackResource> AddAccountStack(
        this IResourceBuilder<CloudflareEmulatorResource> emulator, string name) =>
        emulator.AddStack(name, StackKind.Account,
                (StackBindingResource.D1, "DB", "d1"),
                (StackBindingResource.R2, "DOCUMENTS", "r2"),
                (StackBindingResource.Kv, "CACHE", "kv"))
            .OnInitializeResource((stack, e, ct) => StartWhenReadyAsync(stack, e, ct,
                (services, ct) => services.GetRequiredService<AccountProvisioning>().StartAsync(stack, ct)))
            .WithStackCommand(StackCommands.IssueOwnerToken, (accounts, ctx) => accounts.IssueOwnerTokenAsync(Stack(ctx), ctx.CancellationToken))
            .WithStackCommand(StackCommands.SeedDemoData, (accounts, ctx) => accounts.SeedDemoDataAsync(Stack(ctx), ctx.CancellationToken));

    private static IResourceBuilder<WorkerStackResource> WithStackCommand(this IResourceBuilder<WorkerStackResource> stack, StackCommand command,
        Func<AccountCommands, ExecuteCommandContext, Task<ExecuteCommandResult>> run) =>
        stack.WithCommand(command.Id, command.Label, ctx => run(ctx.Services.GetRequiredService<AccountCommands>(), ctx), new CommandOptions
        {
            Description = command.Description,
            IconName = command.Icon,
            ConfirmationMessage = command.Confirmation,
            IsHighlighted = command.Highlighted,
        });

    /// <summary>
    /// A stack's own start: Aspire's waits first (the row shows Waiting meanwhile; what it waits for
    /// failing fails it), then <paramref name="start"/>.
    /// </summary>
    private static async Task StartWhenReadyAsync(WorkerStackResource stack, InitializeResourceEvent e, CancellationToken cancellationToken,
        Func<IServiceProvider, CancellationToken, Task> start)
    {
        try
        {
            await e.Eventing.PublishAsync(new BeforeResourceStartedEvent(stack, e.Services), cancellationToken);
        }
        catch (DistributedApplicationException ex)
        {
            e.Logger.LogError("{Stack} did not start: {Message}", stack.Name, ex.Message);
            await e.Notifications.PublishUpdateAsync(stack, s => s with
            {
                State = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
                Properties = s.Properties.SetItem("stack.lastError", ex.Message),
            });
            return;
        }
        await start(e.Services, cancellationToken);
    }

    private static WorkerStackResource Stack(ExecuteCommandContext context) =>
        (WorkerStackResource)context.Services.GetRequiredService<DistributedApplicationModel>().Resources.First(r => r.Name == context.ResourceName);

    private static IResourceBuilder<WorkerStackResource> AddStack(
        this IResourceBuilder<CloudflareEmulatorResource> emulator, string name, StackKind kind,
        params (string Type, string Binding, string Suffix)[] bindings)
    {
        var builder = emulator.ApplicationBuilder;
        var stack = new WorkerStackResource(name, kind, emulator.Resource);
        var healthKey = $"{name}-healthz";
        // Ready: an account once provisioned (with its owner), the platform once its release is published.
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthKey,
            sp => new StackHealthCheck(sp.GetRequiredService<StackSupervisor>(), stack.StackName, () => sp.GetRequiredService<HarnessRun>().IsProvisioned(stack)),
            failureStatus: HealthStatus.Unhealthy,
            tags: null));

        var stackBuilder = builder.AddResource(stack)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = WorkerStackResource.ResourceType,
                State = KnownResourceStates.NotStarted,
                Properties = [new("stack.kind", kind.ToString()), new("stack.worker", stack.Worker)],
            })
            .WithParentRelationship(emulator)
            .WithHealthCheck(healthKey)
            .WithAnnotation(new EndpointAnnotation(System.Net.Sockets.ProtocolType.Tcp, uriScheme: "http", name: WorkerStackResource.HttpEndpointName, isProxied: false)
            {
                TargetHost = "127.0.0.1",
            })
            .WithStackCommand(StackCommands.Restart, (accounts, ctx) => accounts.RestartAsync(stack, ctx.CancellationToken))
            .WithStackCommand(StackCommands.Kill, (accounts, ctx) => accounts.KillAsync(stack, ctx.CancellationToken))
            .WithStackCommand(StackCommands.Pause, (accounts, _) => Task.FromResult(accounts.Pause(stack, paused: true)))
            .WithStackCommand(StackCommands.Resume, (accounts, _) => Task.FromResult(accounts.Pause(stack, paused: false)))
            .ExcludeFromManifest();

        foreach (var (type, binding, suffix) in bindings)
        {
            var child = new StackBindingResource($"{name}-{suffix}", type, binding, stack);
            stack.Bindings.Add(child);
            var childBuilder = builder.AddResource(child)
                .WithInitialState(new CustomResourceSnapshot
                {
                    ResourceType = type,
                    State = KnownResourceStates.NotStarted,
                    Properties = [new("binding", binding)],
                })
                .ExcludeFromManifest();
            if (type == StackBindingResource.D1)
            {
                childBuilder.WithReplicationCommands();
            }
        }
        return stackBuilder;
    }

    /// <summary>
    /// An architect's controls for a D1 database's emulated read replicas: set count and lag, freeze
    /// one replica (it stops applying writes), thaw them all. The same as PUT
    /// /__emulator/stacks/{stack}/d1/{binding}/replication on the local Cloudflare API.
    /// </summary>
    public static IResourceBuilder<StackBindingResource> WithReplicationCommands(this IResourceBuilder<StackBindingResource> d1) =>
        d1.WithCommand("d1-replication", "Read replicas…",
                ctx => Replication(ctx).ConfigureAsync(d1.Resource, ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Set this database's read replicas (0 = off) and their lag; reads in a D1 session may be served by a lagging replica.",
                    IconName = "DatabaseMultiple",
                })
            .WithCommand("d1-freeze-replica", "Freeze replica 0",
                ctx => Replication(ctx).ChangeAsync(d1.Resource, new { frozen = new[] { 0 } }, ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Replica 0 stops applying the primary's writes: unconstrained reads there go stale, bookmarked reads go to the primary.",
                    IconName = "WeatherSnowflake",
                })
            .WithCommand("d1-unfreeze-replicas", "Unfreeze replicas",
                ctx => Replication(ctx).ChangeAsync(d1.Resource, new { frozen = Array.Empty<int>() }, ctx.CancellationToken),
                new CommandOptions
                {
                    Description = "Every replica applies the writes it missed (after the lag) and carries on.",
                    IconName = "WeatherSunny",
                });

    private static ReplicationCommands Replication(ExecuteCommandContext context) =>
        context.Services.GetRequiredService<ReplicationCommands>();
}
