using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging.Abstractions;

namespace Emulation.Tests.Infrastructure;

/// <summary>A supervisor on its own (no Aspire), with a real runtime host, for tests of the supervisor.</summary>
internal static class StandaloneSupervisor
{
    /// <summary>Starts one on <paramref name="stateRoot"/>, bundling Workers from <paramref name="workersDirectory"/> (default: the repository's).</summary>
    public static async Task<StackSupervisor> StartAsync(string stateRoot, string? workersDirectory = null)
    {
        var supervisor = new StackSupervisor(new HarnessOptions
        {
            StateRoot = stateRoot,
            WorkersDirectory = workersDirectory ?? RepositoryPaths.Workers,
            RuntimeHostScript = RepositoryPaths.RuntimeHostScript,
        }, NullLogger<StackSupervisor>.Instance);
        await supervisor.StartAsync(CancellationToken.None);
        return supervisor;
    }
}
