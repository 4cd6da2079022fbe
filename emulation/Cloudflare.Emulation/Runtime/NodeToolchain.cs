using CliWrap;
using CliWrap.Buffered;

namespace Cloudflare.Emulation.Runtime;

/// <summary>Checks that a usable Node.js is installed before the harness relies on it.</summary>
public static class NodeToolchain
{
    public const int MinimumMajorVersion = 20;

    /// <summary>Returns the node version, or throws a <see cref="RuntimeHostException"/> saying what to install.</summary>
    public static async Task<Version> RequireAsync(string node, CancellationToken cancellationToken)
    {
        BufferedCommandResult result;
        try
        {
            result = await Cli.Wrap(node).WithArguments("--version").WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new RuntimeHostException(
                $"Node.js was not found ('{node}'). Install Node.js {MinimumMajorVersion} or newer and make sure 'node' is on PATH.", ex);
        }
        var version = Parse(result.StandardOutput);
        if (result.ExitCode != 0 || version is null)
        {
            throw new RuntimeHostException($"'{node} --version' failed: {result.StandardError.Trim()}");
        }
        if (version.Major < MinimumMajorVersion)
        {
            throw new RuntimeHostException(
                $"Node.js {version} is too old: the Workers runtime needs Node.js {MinimumMajorVersion} or newer.");
        }
        return version;
    }

    internal static Version? Parse(string output)
    {
        var text = output.Trim().TrimStart('v');
        return Version.TryParse(text, out var version) ? version : null;
    }
}
