using System.Diagnostics;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// POSIX signals to a stack's workerd: stop and continue it (a paused process keeps its sockets, so
/// requests hang as on an unresponsive machine), or kill it outright. Sent with the system's
/// <c>kill</c> (no native interop in the harness); Linux only, as the harness is.
/// </summary>
internal static class ProcessSignals
{
    public static void Kill(int pid) => Send(pid, "KILL");

    public static void Stop(int pid) => Send(pid, "STOP");

    public static void Continue(int pid) => Send(pid, "CONT");

    private static void Send(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new RuntimeHostException($"could not run kill -s {signal} {pid}");
        var error = kill.StandardError.ReadToEnd();
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new RuntimeHostException($"kill -s {signal} {pid} failed: {error.Trim()}");
        }
    }
}
