using System.Globalization;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>CPU time (user + system) a set of processes has used, from /proc/&lt;pid&gt;/stat.</summary>
internal static class ProcessCpu
{
    // USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on Linux.
    private const double TicksPerSecond = 100;

    public static TimeSpan Of(IEnumerable<int> pids) => TimeSpan.FromSeconds(pids.Sum(Ticks) / TicksPerSecond);

    private static long Ticks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name, which is in parentheses and may hold spaces: state is [0], utime [11], stime [12].
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0; // gone
        }
    }
}
