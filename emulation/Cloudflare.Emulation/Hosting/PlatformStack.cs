using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// The one stack the harness defines itself: the platform Worker with its shared D1, its vars (the
/// Cloudflare API it provisions through, its keys, the residency policy) and the release bucket it
/// provisions accounts from. Accounts are provisioned by it (AccountProvisioning).
/// </summary>
internal sealed class PlatformStack(
    HarnessRun run,
    StackSupervisor supervisor,
    ControlPlaneHandle controlPlane,
    TokenIssuer tokens,
    HarnessOptions options,
    ResourceNotificationService notifications,
    ResourceLoggerService loggers,
    ILogger<PlatformStack> logger)
{
    /// <summary>Starts the platform and publishes the account release; false (and the row failed, with why) if either fails.</summary>
    public async Task<bool> StartAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        var definition = Define(stack);
        foreach (var binding in stack.Bindings)
        {
            await notifications.PublishUpdateAsync(binding, s => s with { Properties = s.Properties.SetItem("resource.id", definition.D1[binding.Binding]).SetItem("jurisdiction", "eu") });
        }
        try
        {
            await supervisor.StartStackAsync(definition, cancellationToken);
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException || PlatformCalls.Failed(ex))
        {
            return await FailedAsync(stack, ex.Message);
        }
        return await PublishReleaseAsync(stack, cancellationToken);
    }

    /// <summary>
    /// What a deploy pipeline does: publishes the account Worker release the platform provisions from
    /// (again after a restart: the account Worker may have changed meanwhile).
    /// </summary>
    public async Task<bool> PublishReleaseAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        try
        {
            await supervisor.PublishReleaseAsync(stack.StackName, "RELEASES", "account", cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException || PlatformCalls.Failed(ex))
        {
            return await FailedAsync(stack, $"publishing the account release failed: {ex.Message}");
        }
    }

    /// <summary>The platform cannot provision: its row fails (so accounts waiting for it fail too), saying why.</summary>
    private async Task<bool> FailedAsync(WorkerStackResource stack, string message)
    {
        loggers.GetLogger(stack).LogError("{Message}", message);
        logger.LogError("Stack {Stack} failed to start: {Message}", stack.Name, message);
        await notifications.PublishUpdateAsync(stack, s => s with
        {
            State = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
            Properties = s.Properties.SetItem("stack.lastError", message),
        });
        return false;
    }

    /// <summary>Ready: accounts waiting for the platform may sign up now (its health check says so).</summary>
    public async Task MarkReadyAsync(WorkerStackResource stack)
    {
        run.MarkProvisioned(stack);
        // A new snapshot wakes Aspire's health check of the row at once.
        await notifications.PublishUpdateAsync(stack, s => s with { Properties = s.Properties.SetItem("platform.ready", true) });
    }

    private StackDefinition Define(WorkerStackResource stack)
    {
        var api = controlPlane.Server!;
        var identity = StackIdentity.LoadOrCreate(supervisor.StackDirectory(stack.StackName), stack.StackName);
        return new StackDefinition(stack.StackName, stack.Worker,
            D1: new Dictionary<string, string> { ["DB"] = identity.DatabaseId },
            R2: new Dictionary<string, string> { ["RELEASES"] = identity.BucketName },
            Kv: new Dictionary<string, string>(),
            Vars: new Dictionary<string, string>
            {
                ["ADMIN_TOKEN"] = run.AdminToken,
                // Provisioning talks to Cloudflare's API; locally, to the emulator's.
                ["CLOUDFLARE_API_BASE"] = api.BaseUrl.ToString(),
                ["CLOUDFLARE_ACCOUNT_ID"] = api.AccountId,
                ["CLOUDFLARE_API_TOKEN"] = api.ApiToken,
                ["AUTH_PUBLIC_KEY"] = tokens.PublicJwk(),
                ["AUTH_PRIVATE_KEY"] = tokens.PrivateJwk(),
                // acme.localhost reaches account acme (browsers resolve *.localhost to loopback).
                ["TENANT_DOMAIN"] = api.ZoneName,
                // Its loopback address and its workers.dev name reach the platform itself too (every
                // other host is a tenant's, or refused).
                ["PLATFORM_HOSTS"] = $"127.0.0.1,[::1],{stack.StackName}.{StackSupervisor.WorkersSubdomain}.workers.dev",
                // The tenants' zone, whose host names provisioning pins to the policy's region (UK).
                ["CLOUDFLARE_ZONE_ID"] = api.ZoneId,
                ["TENANT_REGION"] = options.Residency.HostnameRegion,
                // UK-only users (request.cf.country), from the residency policy.
                ["ALLOWED_COUNTRIES"] = string.Join(",", options.Residency.UserCountries),
                // Each account's R2 S3 credentials are stored sealed with this key; R2's S3 endpoint.
                ["CREDENTIALS_KEY"] = PlatformSecrets.LoadOrCreateCredentialsKey(options.StateRoot),
                ["R2_S3_ENDPOINT"] = api.S3Url.ToString(),
            },
            Port: options.PlatformPort);
    }
}
