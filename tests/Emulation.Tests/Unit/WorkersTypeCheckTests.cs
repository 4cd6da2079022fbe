using CliWrap;
using CliWrap.Buffered;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>The Workers are production TypeScript: the test run type-checks them with their pinned compiler.</summary>
public sealed class WorkersTypeCheckTests
{
    [Fact]
    public async Task Workers_type_check_cleanly()
    {
        var result = await Cli.Wrap("node")
            .WithArguments(["node_modules/typescript/bin/tsc", "--noEmit", "-p", "tsconfig.json"])
            .WithWorkingDirectory(RepositoryPaths.Workers)
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();

        Assert.True(result.ExitCode == 0, $"tsc reported:\n{result.StandardOutput}{result.StandardError}");
    }
}
