using System.Diagnostics;
using System.Globalization;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// Finds the processes that belong to one harness by an environment marker (the runtime host passes
/// its environment on to every workerd it starts). Used to clean up after a harness that was killed
/// and to prove that none was left behind.
/// </summary>
public static class ProcessTable
{
    public const string StateRootVariable = "EMULATION_STATE_ROOT";

    /// <summary>PIDs of live processes whose environment has EMULATION_STATE_ROOT=<paramref name="stateRoot"/>.</summary>
    public static IReadOnlyList<int> FindByStateRoot(string stateRoot)
    {
        var marker = $"{StateRootVariable}={stateRoot}\0";
        var found = new List<int>();
        if (!OperatingSystem.IsLinux())
        {
            return found;
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ"), System.Text.Encoding.Latin1);
                if (environ.Contains(marker, StringComparison.Ordinal) && !IsZombie(dir))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }
        return found;
    }

    /// <summary>Kills every process of a previous harness on this state root; returns how many.</summary>
    public static int KillOrphans(string stateRoot)
    {
        var killed = 0;
        foreach (var pid in FindByStateRoot(stateRoot))
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                killed++;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
        return killed;
    }

    /// <summary>CPU time (user and system) a process has used so far, or null when it is gone.</summary>
    public static TimeSpan? CpuTime(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.TotalProcessorTime;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Resident memory of a process in bytes, or null when it is gone.</summary>
    public static long? ResidentBytes(int pid) => KilobytesField($"/proc/{pid}/status", "VmRSS:") * 1024;

    /// <summary>
    /// Proportional set size in bytes (pages shared with n processes count 1/n each, e.g. the workerd
    /// binary's code), or null when the process is gone: what one more process really costs.
    /// </summary>
    public static long? ProportionalBytes(int pid) => KilobytesField($"/proc/{pid}/smaps_rollup", "Pss:") * 1024;

    private static long? KilobytesField(string file, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone.
        }
        return null;
    }

    private static bool IsZombie(string dir)
    {
        var stat = File.ReadAllText(Path.Combine(dir, "stat"));
        var afterName = stat.LastIndexOf(')');
        return afterName > 0 && stat.Length > afterName + 2 && stat[afterName + 2] == 'Z';
    }
}
