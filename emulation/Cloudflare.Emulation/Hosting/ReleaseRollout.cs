using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// Hot reload for provisioned accounts: a saved change to the account Worker is published as a new
/// release and rolled out to every account's script, as a deploy would — data and URLs stay.
/// </summary>
internal sealed class ReleaseRollout(HarnessRun run, StackSupervisor supervisor, ControlPlaneHandle controlPlane, ILogger<ReleaseRollout> logger)
{
    public async Task RolloutAsync(string worker)
    {
        if (worker is not ("account" or "*") || controlPlane.Server is null || run.Stacks.Values.FirstOrDefault(s => s.Kind == StackKind.Platform) is not { } platform)
        {
            return;
        }
        try
        {
            await supervisor.PublishReleaseAsync(platform.StackName, "RELEASES", "account", CancellationToken.None);
            var code = await supervisor.BundleAsync("account", CancellationToken.None);
            var count = await controlPlane.Server.Deployer.RolloutAsync(WorkerStackResource.AccountScriptPrefix, code, CancellationToken.None);
            logger.LogInformation("Rolled the changed account Worker out to {Count} accounts", count);
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or IOException)
        {
            logger.LogError("Rolling out the account Worker failed: {Message}", ex.Message);
        }
    }
}
