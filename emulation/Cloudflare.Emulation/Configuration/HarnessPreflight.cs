using System.Net;
using System.Net.Sockets;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Configuration;

/// <summary>Checks the machine against the settings before anything starts, so a bad setting stops the start early.</summary>
public static class HarnessPreflight
{
    public static void Run(HarnessOptions options)
    {
        // Creating, probing and releasing the lock proves the state root is writable and not in use.
        using (StateRootLock.Acquire(options.StateRoot))
        {
            if (options.ResetState)
            {
                Reset(options.StateRoot);
            }
        }
        if (options.PlatformPort != 0 && !IsFree(options.PlatformPort))
        {
            throw new HarnessConfigurationException("--platform-port",
                $"port {options.PlatformPort} is already in use on 127.0.0.1. Stop what uses it, pick another port, or pass 0 for any free port.");
        }
    }

    /// <summary>Deletes every stack's data (while holding the lock, so no running harness loses files).</summary>
    private static void Reset(string stateRoot)
    {
        foreach (var entry in new DirectoryInfo(stateRoot).EnumerateFileSystemInfos())
        {
            if (entry.Name.StartsWith(".lock", StringComparison.Ordinal))
            {
                continue;
            }
            if (entry is DirectoryInfo dir)
            {
                dir.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
