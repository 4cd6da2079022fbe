using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>Keeps &lt;state root&gt;/endpoints.json (<see cref="HarnessEndpoints"/>) up to date with what runs.</summary>
internal sealed class EndpointsWriter(
    HarnessRun run,
    StackSupervisor supervisor,
    ControlPlaneHandle controlPlane,
    HarnessOptions options,
    IConfiguration configuration,
    ILogger<EndpointsWriter> logger)
{
    private readonly Lock _gate = new();

    /// <summary>Rewrites the file from what runs now (null before the local API is up).</summary>
    public HarnessEndpoints? Write()
    {
        if (controlPlane.Server is not { } server)
        {
            return null;
        }
        // The snapshot is taken inside the lock too: two writers must not put an older one last.
        lock (_gate)
        {
            var platform = run.PlatformUrl();
            var endpoints = new HarnessEndpoints(
                Dashboard: configuration["ASPNETCORE_URLS"]?.Split(';')[0],
                Platform: platform?.ToString().TrimEnd('/'),
                CloudflareApi: server.BaseUrl.ToString(),
                CloudflareAccountId: server.AccountId,
                EmulatorApi: new Uri(server.BaseUrl, "/__emulator").ToString(),
                R2S3: server.S3Url.ToString(),
                TenantHost: platform is null ? null : $"http://<slug>.{server.ZoneName}:{platform.Port}",
                // A stopped stack (a deleted account) is gone; a failed one keeps its URL for its restart.
                Stacks: supervisor.Stacks.Where(s => s.Url is not null && s.State != StackState.Stopped)
                    .OrderBy(s => s.Name, StringComparer.Ordinal).ToDictionary(s => s.Name, s => s.Url!));
            try
            {
                endpoints.Write(options.StateRoot);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("Could not write {File}: {Message}", HarnessEndpoints.PathUnder(options.StateRoot), ex.Message);
            }
            return endpoints;
        }
    }
}
