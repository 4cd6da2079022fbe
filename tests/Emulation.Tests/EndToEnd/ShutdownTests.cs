using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>When the harness stops, nothing it started keeps running.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Disposing_the_app_leaves_no_node_or_workerd_process_behind()
    {
        var stateRoot = RepositoryPaths.NewStateRoot("shutdown");
        try
        {
            var app = await HarnessFixture.StartAsync(stateRoot, accounts: 1, hotReload: false);
            var running = ProcessTable.FindByStateRoot(stateRoot);
            // The runtime host plus one workerd for the platform and one for the account.
            Assert.True(running.Count >= 3, $"expected the host and two workerd processes, found {running.Count}");

            await app.DisposeAsync();

            Assert.Empty(ProcessTable.FindByStateRoot(stateRoot));
        }
        finally
        {
            HarnessFixture.TryDelete(stateRoot);
        }
    }
}
