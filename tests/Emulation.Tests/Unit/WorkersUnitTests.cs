using CliWrap;
using CliWrap.Buffered;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>
/// The Workers' and the runtime host's own unit tests (node:test, TypeScript through tsx): logic
/// that needs no workerd, checked in seconds (`npm test` in workers/ runs the same).
/// </summary>
public sealed class WorkersUnitTests
{
    [Fact]
    public async Task Worker_and_runtime_host_unit_tests_pass()
    {
        var result = await Cli.Wrap("npm")
            .WithArguments(["test", "--silent"])
            .WithWorkingDirectory(RepositoryPaths.Workers)
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();

        Assert.True(result.ExitCode == 0, $"npm test reported:\n{result.StandardOutput}{result.StandardError}");
        Assert.Matches(@"# pass [1-9]", result.StandardOutput);
        Assert.Contains("# fail 0", result.StandardOutput, StringComparison.Ordinal);
    }
}
