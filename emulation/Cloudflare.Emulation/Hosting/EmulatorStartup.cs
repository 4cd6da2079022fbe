using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Cloudflare.Emulation.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// The emulator's own start, and the platform's: the runtime host and the local Cloudflare API
/// (then the emulator row runs); the platform stack with its release; every script deployed in an
/// earlier run; then the platform is ready and accounts, which wait for it, are signed up
/// (AccountProvisioning). The order is in AppHost/Program.cs: accounts WaitFor the platform, which
/// waits for the emulator.
/// </summary>
internal sealed class EmulatorStartup(
    HarnessRun run,
    StackSupervisor supervisor,
    ControlPlaneHandle controlPlane,
    HarnessOptions options,
    DistributedApplicationModel model,
    StackRows rows,
    PlatformStack platformStack,
    AccountProvisioning provisioning,
    ReleaseRollout rollout,
    EndpointsWriter endpoints,
    ResourceNotificationService notifications,
    ResourceLoggerService loggers,
    IConfiguration configuration,
    ILogger<EmulatorStartup> logger)
{
    /// <summary>The resource Aspire adds for its dashboard, when it runs one.</summary>
    private const string DashboardResourceName = "aspire-dashboard";

    /// <summary>The emulator row's start: the runtime host, then the local Cloudflare API.</summary>
    public async Task StartAsync(CloudflareEmulatorResource emulator, CancellationToken cancellationToken)
    {
        run.Emulator = emulator;
        foreach (var stack in model.Resources.OfType<WorkerStackResource>().Where(s => s.Emulator == emulator))
        {
            run.Stacks[stack.StackName] = stack;
        }
        supervisor.StackChanged += status =>
        {
            rows.Enqueue(status);
            endpoints.Write();
        };
        supervisor.LogReceived += rows.Log;
        supervisor.SourceChanged += worker => _ = rollout.RolloutAsync(worker);

        await StartSupervisorAsync(emulator, cancellationToken);
        await StartControlPlaneAsync(emulator, cancellationToken);
        await notifications.PublishUpdateAsync(emulator, s => s with
        {
            State = KnownResourceStates.Running,
            StartTimeStamp = DateTime.UtcNow,
            Properties = s.Properties.SetItem("harness.node", supervisor.NodeVersion?.ToString() ?? "")
                .SetItem("harness.hostPid", supervisor.HostProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""),
        });
    }

    /// <summary>The platform row's start, once the emulator runs.</summary>
    public async Task StartPlatformAsync(WorkerStackResource platform, CancellationToken cancellationToken)
    {
        if (!await platformStack.StartAsync(platform, cancellationToken))
        {
            // Accounts waiting for the platform fail with it; "Restart stack" on its row tries again.
            return;
        }
        var emulator = run.Emulator!;
        // Every script deployed through the control plane in an earlier run comes back (one that
        // cannot start stays failed on its row, and the rest come back all the same), before any
        // account is signed up or resumed: those would redeploy the same scripts.
        foreach (var (script, error) in await controlPlane.Server!.Deployer.RestoreAllAsync(cancellationToken))
        {
            loggers.GetLogger(emulator).LogError("Script {Script} could not be restored: {Error}", script, error);
        }
        await platformStack.MarkReadyAsync(platform);
        // Accounts signed up at run time in an earlier run are brought up to date; the AppHost's own
        // accounts (waiting for this row) sign up or resume on their own rows.
        var modelAccounts = model.Resources.OfType<WorkerStackResource>().Where(s => s.Emulator == emulator && s.Kind == StackKind.Account);
        await provisioning.ResumeSignedUpAccountsAsync(modelAccounts.Select(a => a.Name).ToHashSet(), cancellationToken);
        // (Not in the headless residency check, whose output is the report.)
        if (endpoints.Write() is { } written && options.ResidencyReportPath is null)
        {
            logger.LogInformation("Platform: {Platform} · Cloudflare API: {Api} · tenants at {TenantHost} · every endpoint in {File}",
                written.Platform, written.CloudflareApi, written.TenantHost, HarnessEndpoints.PathUnder(options.StateRoot));
        }
    }

    private async Task StartSupervisorAsync(CloudflareEmulatorResource emulator, CancellationToken cancellationToken)
    {
        await notifications.PublishUpdateAsync(emulator, s => s with { State = KnownResourceStates.Starting });
        try
        {
            // Telemetry goes to the dashboard, when this AppHost runs one (not headless, not in tests that do not ask).
            supervisor.Telemetry = TelemetryExport.Resolve(options, configuration, dashboardRuns: model.Resources.Any(r => r.Name == DashboardResourceName));
            await supervisor.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HarnessConfigurationException or Runtime.RuntimeHostException)
        {
            loggers.GetLogger(emulator).LogError("{Message}", ex.Message);
            await notifications.PublishUpdateAsync(emulator, s => s with { State = KnownResourceStates.FailedToStart });
            throw;
        }
        run.AdminToken = PlatformSecrets.LoadOrCreateAdminToken(options.StateRoot);
    }

    private async Task StartControlPlaneAsync(CloudflareEmulatorResource emulator, CancellationToken cancellationToken)
    {
        var api = model.Resources.OfType<CloudflareApiResource>().Single(r => r.Parent == emulator);
        await notifications.PublishUpdateAsync(api, s => s with { State = KnownResourceStates.Starting });
        var server = await ControlPlaneServer.StartAsync(options.StateRoot, supervisor, port: 0, cancellationToken, options.Residency, telemetry: supervisor.Telemetry);
        controlPlane.Server = server;
        // The egress guard: Workers may reach each other, the Cloudflare API, and what the policy lists.
        await supervisor.SetEgressPolicyAsync(options.Residency.Egress, server.BaseUrl.Authority, cancellationToken);
        await notifications.PublishUpdateAsync(api, s => s with
        {
            State = KnownResourceStates.Running,
            StartTimeStamp = DateTime.UtcNow,
            Urls = [new UrlSnapshot("v4", server.BaseUrl.ToString(), IsInternal: false)],
            Properties = s.Properties.SetItem("cloudflare.accountId", server.AccountId),
        });
        loggers.GetLogger(api).LogInformation("Cloudflare v4 API at {Url} for account {Account}", server.BaseUrl, server.AccountId);
    }
}
