using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

public sealed class HarnessPreflightTests
{
    private static HarnessOptions Options(string stateRoot, int port = 0) => new()
    {
        StateRoot = stateRoot,
        WorkersDirectory = RepositoryPaths.Workers,
        RuntimeHostScript = RepositoryPaths.RuntimeHostScript,
        PlatformPort = port,
    };

    [Fact]
    public void A_port_already_taken_stops_the_start_naming_the_option()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var root = RepositoryPaths.NewStateRoot("preflight");

        var error = Assert.Throws<HarnessConfigurationException>(() => HarnessPreflight.Run(Options(root, port)));
        Assert.Equal("--platform-port", error.Setting);
        Assert.Contains($"port {port} is already in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unwritable_state_root_stops_the_start_naming_the_option()
    {
        // A path below a regular file can never be created, whoever runs the test (root included).
        var file = Path.Combine(RepositoryPaths.NewStateRoot("preflight"), "a-file");
        File.WriteAllText(file, "");

        var error = Assert.Throws<HarnessConfigurationException>(() => HarnessPreflight.Run(Options(Path.Combine(file, "state"))));
        Assert.Equal("--state-root", error.Setting);
        Assert.Contains("not writable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_state_root_in_use_by_another_harness_is_refused()
    {
        var root = RepositoryPaths.NewStateRoot("preflight");
        using var held = StateRootLock.Acquire(root);

        var error = Assert.Throws<HarnessConfigurationException>(() => StateRootLock.Acquire(root));
        Assert.Equal("--state-root", error.Setting);
        Assert.Contains($"process {Environment.ProcessId}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_state_root_is_private_to_its_user_once_taken()
    {
        var root = RepositoryPaths.NewStateRoot("preflight");
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101); // 0755, as mkdir leaves it
        using (StateRootLock.Acquire(root))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(root));
        }
    }

    [Fact]
    public void Reset_state_deletes_every_stack_s_data_and_keeps_the_root()
    {
        var root = RepositoryPaths.NewStateRoot("preflight");
        Directory.CreateDirectory(Path.Combine(root, "stacks", "account-1", "d1"));
        File.WriteAllText(Path.Combine(root, "platform-admin-token"), "x");

        HarnessPreflight.Run(Options(root) with { ResetState = true });

        Assert.True(Directory.Exists(root));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(root), e => !Path.GetFileName(e).StartsWith(".lock", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_reset_the_data_stays()
    {
        var root = RepositoryPaths.NewStateRoot("preflight");
        Directory.CreateDirectory(Path.Combine(root, "stacks", "account-1"));

        HarnessPreflight.Run(Options(root));

        Assert.True(Directory.Exists(Path.Combine(root, "stacks", "account-1")));
    }

    [Fact]
    public void The_apphost_exits_with_code_2_and_a_message_naming_a_bad_setting()
    {
        var appHost = Path.Combine(AppContext.BaseDirectory, "AppHost.dll");
        var start = new ProcessStartInfo("dotnet", [appHost, "--accounts", "-4"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit(30_000);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Invalid setting --accounts", stderr, StringComparison.Ordinal);
    }
}
