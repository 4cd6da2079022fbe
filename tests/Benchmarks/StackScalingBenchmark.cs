using System.Diagnostics;
using System.Globalization;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Runtime;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// Starts K account stacks and prints time-to-ready and memory per stack (as started, and after
/// serving); then adds stacks one by one, first with the machine otherwise idle and then while every
/// existing stack serves requests, and prints the new stacks' time-to-ready and what the existing ones
/// saw while they were added (requests, errors, latency).
/// </summary>
internal static class StackScalingBenchmark
{
    // Enough additions that the median is not one unlucky start.
    private const int IdleAdditions = 5;
    private const int Additions = 11;
    private const int ParallelStarts = 4;
    // Steady traffic on the existing stacks while new ones are added: 200 requests a second, sent on
    // schedule whatever the answers (SteadyLoad: an open model).
    private const double LoadRate = 200;
    // Each stack's first requests compile its code and open its databases; the measurements are of
    // the steady state after that.
    private static readonly TimeSpan LoadWarmUp = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LoadAloneFor = TimeSpan.FromSeconds(3);

    public static async Task RunAsync(IReadOnlyList<int> sizes)
    {
        Console.WriteLine($"stack scaling benchmark — {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine("| K | all ready (s) | start p50 (ms) | start p95 (ms) | workerd RSS / PSS per stack, started (MB) | … after serving (MB) | host RSS (MB) | add one, idle: p50 (ms) | CPU busy, load alone | CPU a request: workerd / host (ms) | add one under load: p50 / max (ms) | CPU busy meanwhile | requests to others meanwhile | errors | their latency p50 / p99 (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var k in sizes)
        {
            Console.WriteLine(await RunOnceAsync(k));
        }
    }

    private static async Task<string> RunOnceAsync(int k)
    {
        await using var stacks = await TempStacks.StartAsync();
        var supervisor = stacks.Supervisor;
        using var tokens = TokenIssuer.LoadOrCreate(stacks.StateRoot);
        var keys = new Dictionary<string, string> { ["AUTH_PUBLIC_KEY"] = tokens.PublicJwk() };

        var clock = Stopwatch.StartNew();
        var starts = new List<double>();
        await Parallel.ForEachAsync(Enumerable.Range(1, k), new ParallelOptions { MaxDegreeOfParallelism = ParallelStarts }, async (i, ct) =>
        {
            var status = await supervisor.StartStackAsync(TempStacks.Account($"account-{i}", keys), ct);
            lock (starts)
            {
                starts.Add(status.StartDuration!.Value.TotalMilliseconds);
            }
        });
        var allReady = clock.Elapsed;

        var existing = supervisor.Stacks.ToList();
        var rss = existing.Select(s => ProcessTable.ResidentBytes(s.ProcessId!.Value) ?? 0).ToList();
        // RSS counts the workerd binary's code in every process; PSS shares it out: a tenant's real cost.
        var pss = existing.Select(s => ProcessTable.ProportionalBytes(s.ProcessId!.Value) ?? 0).ToList();
        var hostRss = ProcessTable.ResidentBytes(supervisor.HostProcessId!.Value) ?? 0;

        // What a start costs on its own, then beside the traffic.
        var idle = new List<double>();
        for (var i = 1; i <= IdleAdditions; i++)
        {
            var added = Stopwatch.StartNew();
            await supervisor.StartStackAsync(TempStacks.Account($"idle-{i}", keys), CancellationToken.None);
            idle.Add(added.Elapsed.TotalMilliseconds);
        }

        // Load on the existing stacks while new ones are added.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // Each request is authenticated (the stack's owner) and reads the stack's D1.
        var bootstrap = new AccountOwnerBootstrap(http, tokens);
        var targets = new List<(Uri Url, string Token)>();
        foreach (var s in existing)
        {
            var owner = await bootstrap.EnsureOwnerAsync(new Uri(s.Url!), s.Name, CancellationToken.None);
            targets.Add((new Uri(new Uri(s.Url!), "/api/users?limit=10"), tokens.Issue(s.Name, owner, TimeSpan.FromHours(1))));
        }
        var load = new SteadyLoad(http, targets, LoadRate);
        await Task.Delay(LoadWarmUp);
        // What the traffic alone keeps busy, so the additions' share of the CPU can be read off.
        var loadOnly = new MachineCpu();
        var pids = existing.Select(s => s.ProcessId!.Value).ToArray();
        int[] host = [supervisor.HostProcessId!.Value];
        var (workerdBefore, hostBefore, aloneFrom) = (CpuTimeOf(pids), CpuTimeOf(host), load.Now);
        await Task.Delay(LoadAloneFor);
        var (workerdAfter, hostAfter, aloneTo) = (CpuTimeOf(pids), CpuTimeOf(host), load.Now);
        var loadBusy = loadOnly.BusySince();
        // Memory again, now that every stack has served requests (its code compiled, its database open).
        var rssServed = existing.Select(s => ProcessTable.ResidentBytes(s.ProcessId!.Value) ?? 0).ToList();
        var pssServed = existing.Select(s => ProcessTable.ProportionalBytes(s.ProcessId!.Value) ?? 0).ToList();
        var cpu = new MachineCpu();

        var additions = new List<double>();
        var additionsFrom = load.Now;
        for (var i = 1; i <= Additions; i++)
        {
            var added = Stopwatch.StartNew();
            await supervisor.StartStackAsync(TempStacks.Account($"added-{i}", keys), CancellationToken.None);
            additions.Add(added.Elapsed.TotalMilliseconds);
        }
        var additionsTo = load.Now;
        var busy = cpu.BusySince();
        await load.DisposeAsync();
        // Only the requests due in each window count for it (all answered by now).
        var alone = load.Between(aloneFrom, aloneTo);
        var served = Math.Max(1, alone.Requests);
        var workerdPerRequest = (workerdAfter - workerdBefore).TotalMilliseconds / served;
        var hostPerRequest = (hostAfter - hostBefore).TotalMilliseconds / served;
        var meanwhile = load.Between(additionsFrom, additionsTo);

        starts.Sort();
        additions.Sort();
        idle.Sort();
        return string.Create(CultureInfo.InvariantCulture,
            $"| {k} | {allReady.TotalSeconds:0.00} | {TempStacks.Percentile(starts, 50):0} | {TempStacks.Percentile(starts, 95):0} | {rss.Average() / 1048576:0.0} / {pss.Average() / 1048576:0.0} | {rssServed.Average() / 1048576:0.0} / {pssServed.Average() / 1048576:0.0} | {hostRss / 1048576.0:0} | {TempStacks.Percentile(idle, 50):0} | {loadBusy:P0} | {workerdPerRequest:0.0} / {hostPerRequest:0.00} | {TempStacks.Percentile(additions, 50):0} / {additions[^1]:0} | {busy:P0} | {meanwhile.Requests} ({meanwhile.RatePerSecond:0}/s) | {meanwhile.Errors} | {meanwhile.P50:0} / {meanwhile.P99:0} |");
    }

    private static TimeSpan CpuTimeOf(IEnumerable<int> pids) => pids.Aggregate(TimeSpan.Zero, (sum, pid) => sum + (ProcessTable.CpuTime(pid) ?? TimeSpan.Zero));
}
