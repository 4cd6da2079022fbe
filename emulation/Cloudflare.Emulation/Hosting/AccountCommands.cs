using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Seeding;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>The commands of a stack's row: restart it, and for an account, an owner token, demo data, deletion.</summary>
internal sealed class AccountCommands(HarnessRun run, StackSupervisor supervisor, TokenIssuer tokens, PlatformStack platformStack, ResourceLoggerService loggers)
{
    public async Task<ExecuteCommandResult> RestartAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        try
        {
            await supervisor.RestartStackAsync(stack.StackName, cancellationToken);
            // The platform provisions from its release: published again, and the platform ready.
            if (stack.Kind == StackKind.Platform)
            {
                if (!await platformStack.PublishReleaseAsync(stack, cancellationToken))
                {
                    return CommandResults.Failure("The platform restarted, but publishing the account release failed (see its log).");
                }
                await platformStack.MarkReadyAsync(stack);
            }
            return CommandResults.Success();
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException || PlatformCalls.Failed(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Kills the stack's workerd (the chaos control, as over HTTP).</summary>
    public async Task<ExecuteCommandResult> KillAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        try
        {
            await supervisor.KillStackAsync(stack.StackName, cancellationToken);
            return CommandResults.Success();
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or InvalidOperationException or KeyNotFoundException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Pauses or resumes the stack's workerd.</summary>
    public ExecuteCommandResult Pause(WorkerStackResource stack, bool paused)
    {
        try
        {
            supervisor.PauseStack(stack.StackName, paused);
            return CommandResults.Success();
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or InvalidOperationException or KeyNotFoundException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>A 12-hour token for the account's owner, for trying the API with curl.</summary>
    public async Task<ExecuteCommandResult> IssueOwnerTokenAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        if (supervisor.Find(stack.StackName)?.Url is not { } url || run.PlatformUrl() is not { } platform)
        {
            return CommandResults.Failure($"{stack.Name} is not running.");
        }
        try
        {
            var ownerId = await new AccountOwnerBootstrap(PlatformCalls.Http, tokens).EnsureOwnerAsync(new Uri(url), stack.AccountSlug, cancellationToken);
            // The platform issues tokens (it checks the user with the account's own Worker first).
            var token = await new PlatformAdminClient(PlatformCalls.Http, run.AdminToken).IssueTokenAsync(platform, stack.AccountSlug, ownerId, TimeSpan.FromHours(12), cancellationToken);
            loggers.GetLogger(stack).LogInformation("Owner token (12 h): {Token}", token);
            return CommandResults.Success($"Owner token for {stack.Name} (also in its log): {token}");
        }
        catch (Exception ex) when (PlatformCalls.Failed(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Loads the demo data set (deterministic per account) into a running account stack.</summary>
    public async Task<ExecuteCommandResult> SeedDemoDataAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        if (supervisor.Find(stack.StackName)?.Url is not { } url)
        {
            return CommandResults.Failure($"{stack.Name} is not running.");
        }
        var log = loggers.GetLogger(stack);
        try
        {
            var ownerId = await new AccountOwnerBootstrap(PlatformCalls.Http, tokens).EnsureOwnerAsync(new Uri(url), stack.AccountSlug, cancellationToken);
            var token = tokens.Issue(stack.AccountSlug, ownerId, TimeSpan.FromMinutes(30));
            var data = SeedDataGenerator.ForAccount(stack.AccountSlug).Generate(SeedSize.Demo);
            var progress = new Progress<string>(line => log.LogInformation("seeded {Line}", line));
            await new SeedLoader(PlatformCalls.Http, new Uri(url + "/"), token).LoadAsync(data, progress, cancellationToken);
            return CommandResults.Success($"Seeded {data.Count("clients")} clients with their cases, tasks, documents and contacts.");
        }
        catch (Exception ex) when (PlatformCalls.Failed(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Deprovisions an account signed up at run time, through the platform.</summary>
    public async Task<ExecuteCommandResult> DeleteAsync(string stackName, CancellationToken cancellationToken)
    {
        if (run.PlatformUrl() is not { } platform)
        {
            return CommandResults.Failure("The platform is not running.");
        }
        try
        {
            await new PlatformAdminClient(PlatformCalls.Http, run.AdminToken).DeleteAsync(platform, stackName[WorkerStackResource.AccountScriptPrefix.Length..], cancellationToken);
            return CommandResults.Success($"Deleted {stackName}.");
        }
        catch (Exception ex) when (PlatformCalls.Failed(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }
}
