using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// Accounts come about as in production: signed up through the platform, which provisions them
/// through the Cloudflare API (no back door). At start the AppHost's accounts are signed up or
/// resumed, and every other signed-up account is brought up to date.
/// </summary>
internal sealed class AccountProvisioning(
    HarnessRun run,
    StackSupervisor supervisor,
    TokenIssuer tokens,
    StackRows rows,
    ResourceNotificationService notifications,
    ResourceLoggerService loggers)
{
    // A few signups at a time: each deploys a Worker and runs migrations on a machine of few cores.
    private readonly SemaphoreSlim _signups = new(4);

    /// <summary>An AppHost account row's start (once the platform is ready): signed up, or resumed.</summary>
    public async Task StartAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        await _signups.WaitAsync(cancellationToken);
        try
        {
            await ProvisionAsync(stack, cancellationToken);
        }
        finally
        {
            _signups.Release();
        }
    }

    /// <summary>Makes sure the row's account exists and is active (signup, or resuming an interrupted one).</summary>
    private async Task ProvisionAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        var log = loggers.GetLogger(stack);
        if (run.PlatformUrl() is not { } platform)
        {
            const string Message = "the platform is not running: an account is signed up through it (its row must WaitFor the platform)";
            log.LogError("{Message}", Message);
            await notifications.PublishUpdateAsync(stack, s => s with
            {
                State = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
                Properties = s.Properties.SetItem("stack.lastError", Message),
            });
            return;
        }
        var admin = new PlatformAdminClient(PlatformCalls.Http, run.AdminToken);
        try
        {
            var account = await admin.GetAsync(platform, stack.Name, cancellationToken);
            if (account is null)
            {
                log.LogInformation("Signing up account {Slug} through the platform", stack.Name);
                await admin.SignupAsync(platform, stack.Name, $"Account {stack.Name}", cancellationToken);
            }
            else
            {
                // Active: the current release's pending migrations (if any); otherwise where it stopped.
                if (account.Value.GetProperty("status").GetString() != "active")
                {
                    log.LogInformation("Resuming the provisioning of {Slug}", stack.Name);
                }
                await admin.ResumeAsync(platform, stack.Name, cancellationToken);
            }
            await rows.PublishBindingsAsync(stack);
            if (supervisor.Find(stack.StackName)?.Url is { } url)
            {
                var ownerId = await new AccountOwnerBootstrap(PlatformCalls.Http, tokens).EnsureOwnerAsync(new Uri(url), stack.Name, cancellationToken);
                await notifications.PublishUpdateAsync(stack, s => s with { Properties = s.Properties.SetItem("account.ownerId", ownerId) });
                run.MarkProvisioned(stack);
            }
        }
        catch (Exception ex) when (PlatformCalls.Failed(ex))
        {
            // One account failing must not stop the others; its row and log say why.
            log.LogError("Provisioning {Slug} failed: {Message}", stack.Name, ex.Message);
            await notifications.PublishUpdateAsync(stack, s => s with
            {
                State = new(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error),
                Properties = s.Properties.SetItem("stack.lastError", ex.Message),
            });
        }
    }

    /// <summary>
    /// Accounts signed up in an earlier run (not the AppHost's): each gets the current release's
    /// pending migrations, or its provisioning resumed. One failing is logged; the others go on.
    /// </summary>
    public async Task ResumeSignedUpAccountsAsync(IReadOnlySet<string> modelAccounts, CancellationToken cancellationToken)
    {
        if (run.PlatformUrl() is not { } platform || run.Emulator is not { } emulator)
        {
            return;
        }
        var log = loggers.GetLogger(emulator);
        var admin = new PlatformAdminClient(PlatformCalls.Http, run.AdminToken);
        try
        {
            foreach (var slug in (await admin.ListSlugsAsync(platform, cancellationToken)).Where(s => !modelAccounts.Contains(s)))
            {
                try
                {
                    await admin.ResumeAsync(platform, slug, cancellationToken);
                }
                catch (Exception ex) when (PlatformCalls.Failed(ex))
                {
                    log.LogError("Account {Slug} could not be brought up to date: {Message}", slug, ex.Message);
                }
            }
        }
        catch (Exception ex) when (PlatformCalls.Failed(ex))
        {
            log.LogError("Listing the platform's accounts failed: {Message}", ex.Message);
        }
    }

    /// <summary>Signs up the next account-N through the platform, exactly as a real signup is provisioned.</summary>
    public async Task<ExecuteCommandResult> SignUpNextAsync(CancellationToken cancellationToken)
    {
        if (run.PlatformUrl() is not { } platform)
        {
            return CommandResults.Failure("The platform is not running.");
        }
        var admin = new PlatformAdminClient(PlatformCalls.Http, run.AdminToken);
        try
        {
            var taken = (await admin.ListSlugsAsync(platform, cancellationToken)).ToHashSet();
            var slug = Enumerable.Range(1, 10_000).Select(i => $"account-{i}").First(s => !taken.Contains(s) && !run.Stacks.ContainsKey(WorkerStackResource.AccountScriptPrefix + s));
            await admin.SignupAsync(platform, slug, $"Account {slug}", cancellationToken);
            return CommandResults.Success($"Provisioned {slug} (script {WorkerStackResource.AccountScriptPrefix}{slug}).");
        }
        catch (Exception ex) when (PlatformCalls.Failed(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }
}
