using System.Globalization;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// How busy the whole machine's CPUs were between two readings of /proc/stat: a time-to-ready under
/// load means little without it (a start on a saturated machine gets a share of the CPU, not all of it).
/// </summary>
internal sealed class MachineCpu
{
    private readonly (long Busy, long Total) _start = Read();

    /// <summary>Busy share of all cores since this object was created, 0–1.</summary>
    public double BusySince()
    {
        var now = Read();
        var total = now.Total - _start.Total;
        return total <= 0 ? 0 : (double)(now.Busy - _start.Busy) / total;
    }

    private static (long Busy, long Total) Read()
    {
        // "cpu  user nice system idle iowait irq softirq steal …" (jiffies, all cores together)
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Take(8).Sum();
        var idle = fields[3] + fields[4];
        return (total - idle, total);
    }
}
