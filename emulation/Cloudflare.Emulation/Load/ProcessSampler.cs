using System.Globalization;

namespace Cloudflare.Emulation.Load;

/// <summary>One process at one second of a run: its CPU (percent of one core over the last interval) and resident memory.</summary>
public sealed record ProcessSample(string Process, double Second, double CpuPercent, double RssMegabytes);

/// <summary>
/// Samples named processes (the platform's workerd, the account's, the runtime host, the driver)
/// once a second from /proc — where a load run's time goes. Linux only, as the harness is; a process
/// that has gone is skipped.
/// </summary>
public sealed class ProcessSampler : IAsyncDisposable
{
    private static readonly double TicksPerSecond = 100; // USER_HZ, 100 on Linux
    private static readonly long PageBytes = Environment.SystemPageSize;
    private readonly IReadOnlyDictionary<string, int> _processes;
    private readonly List<ProcessSample> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ProcessSampler(IReadOnlyDictionary<string, int> processes)
    {
        _processes = processes;
        _loop = Task.Run(LoopAsync);
    }

    public IReadOnlyList<ProcessSample> Samples
    {
        get
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }
    }

    private async Task LoopAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = _processes.ToDictionary(p => p.Key, p => Ticks(p.Value));
        var lastAt = clock.Elapsed.TotalSeconds;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = clock.Elapsed.TotalSeconds;
                foreach (var (name, pid) in _processes)
                {
                    if (Ticks(pid) is not { } ticks || last[name] is not { } before || Rss(pid) is not { } rss)
                    {
                        continue;
                    }
                    lock (_samples)
                    {
                        _samples.Add(new ProcessSample(name, Math.Round(now, 1), (ticks - before) / TicksPerSecond / (now - lastAt) * 100, rss));
                    }
                    last[name] = ticks;
                }
                lastAt = now;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    /// <summary>User plus system CPU ticks of a process (its threads included), or null when it is gone.</summary>
    private static long? Ticks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which may hold spaces) start after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static double? Rss(int pid)
    {
        try
        {
            var pages = long.Parse(File.ReadAllText($"/proc/{pid}/statm").Split(' ')[1], CultureInfo.InvariantCulture);
            return pages * PageBytes / (1024.0 * 1024.0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
