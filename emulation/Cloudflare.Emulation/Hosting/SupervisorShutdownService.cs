using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Hosting;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// Stops every stack when the application stops (Ctrl+C, SIGTERM, or a test disposing the app),
/// rather than waiting for the container to be disposed, which an app host does not always do.
/// </summary>
internal sealed class SupervisorShutdownService(StackSupervisor supervisor, ControlPlaneHandle controlPlane) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (controlPlane.Server is { } server)
        {
            await server.DisposeAsync();
        }
        await supervisor.DisposeAsync();
    }
}
