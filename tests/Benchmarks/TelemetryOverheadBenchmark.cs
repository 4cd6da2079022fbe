using System.Diagnostics;
using System.Globalization;
using Emulation.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// What telemetry costs a request (issue 17, ADR 0036): the same account query through the platform,
/// with telemetry off, on (exported to a receiver in this process) and on with its endpoint down —
/// each on two harnesses of its own. The "on" harnesses also serve every round a second time with
/// recording stopped (the chaos API's telemetry switch): the same processes, so their difference is
/// what recording costs, free of the spread between harnesses. CPU is the runtime host's and every
/// workerd's (where telemetry runs) per request; latency is what the client saw. Targets: CPU ≤ 5 %
/// more with it on; a down endpoint slows no request. With <c>--budget</c>, only the first target, in a
/// crossover of two "on" harnesses (<see cref="RunBudgetAsync"/>).
/// </summary>
internal static class TelemetryOverheadBenchmark
{
    private const int Clients = 50;

    private const string On = "on";

    /// <param name="requests">Requests per mode; an "on" harness splits its share between recording and stopped.</param>
    /// <param name="budgetOnly">Only the budget's figure, measured as <see cref="RunBudgetAsync"/> does.</param>
    public static async Task RunAsync(int requests, bool budgetOnly = false)
    {
        if (budgetOnly)
        {
            await RunBudgetAsync(requests);
            return;
        }
        await using var receiver = await Receiver.StartAsync();
        var down = Receiver.ClosedPort();
        var modes = new (string Name, string[] Arguments)[]
        {
            ("off", ["--telemetry", "false"]),
            (On, [$"--Harness:TelemetryEndpoint={receiver.Url}"]),
            ("on, endpoint down", [$"--Harness:TelemetryEndpoint=http://127.0.0.1:{down}"]),
        };
        // Two harnesses per mode, started in mirrored order (off, on, down, down, on, off) and all running;
        // rounds go from one to the next. A harness started later measured a little more CPU than one
        // started earlier with the same settings (an A/A run), and drift in the machine (other processes,
        // CPU frequency) moves every round: the mirror and the interleaving put both on every mode alike.
        var order = modes.Concat(modes.Reverse()).ToArray();
        var runs = new List<Run>();
        try
        {
            foreach (var (name, arguments) in order)
            {
                var harness = await BenchHarness.StartAsync(1, arguments);
                var run = new Run(name, harness, await harness.OwnerAsync("account-1"));
                runs.Add(run);
                await run.PrepareAsync();
            }
            // A fresh harness spends markedly more CPU a request than the same harness thousands of
            // requests later (its JIT, the runtime host's most of all, is still settling): warm every
            // harness first, in the same interleaved rounds, and count those requests on their own.
            await InterleaveAsync(runs, WarmUpRequests, run => run.WarmUp);
            await InterleaveAsync(runs, Math.Max(Rounds, requests / 2), run => run.Steady);
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.DisposeAsync();
            }
        }

        ModeResult Result(string name, Func<Run, Phase> phase, bool quiet = false) =>
            new(name, runs.Where(r => r.Name == name).Select(r => quiet ? phase(r).Quiet : phase(r).Recorded).ToList());
        var results = modes.Select(mode => Result(mode.Name, r => r.Steady)).ToList();
        var warm = modes.Select(mode => Result(mode.Name, r => r.WarmUp)).ToList();
        var quiet = Result(On, r => r.Steady, quiet: true) with { Name = "on, recording stopped" };
        var warmQuiet = Result(On, r => r.WarmUp, quiet: true);
        results.Insert(2, quiet);
        warm.Insert(2, warmQuiet);
        var off = results[0];
        Console.WriteLine($"telemetry overhead — {off.Requests} account queries through the platform per mode (the 'on' harnesses' split between recording and stopped), in {Rounds} interleaved rounds of two blocks per harness, two harnesses per mode started in mirrored order, each after {WarmUpRequests} warm-up requests; CPU of the runtime host and every workerd, over each block of requests and the {Settle.TotalMilliseconds:0} ms after it");
        Console.WriteLine("| telemetry | CPU per request (ms) | vs off | each harness (ms: host+workerd) | runtime host / workerd (ms) | p50 (ms) | p95 (ms) | warm-up CPU per request (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var i = 0; i < results.Count; i++)
        {
            var result = results[i];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Row(off)} {warm[i].CpuPerRequest:0.000} ({warm[i].Versus(warm[0]):+0.0;-0.0}%) |"));
        }
        // The two "off" harnesses are an A/A run: how far apart identical harnesses measure is the noise
        // under every comparison between harnesses.
        var aa = off.Runs.Select(r => r.CpuPerRequest).ToList();
        var aaSpread = (aa.Max() - aa.Min()) / aa.Min() * 100;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"A/A: the two 'off' harnesses differ by {aaSpread:0.0}% (the noise under every comparison between harnesses)"));
        foreach (var result in results.Skip(1))
        {
            var (mean, halfWidth) = MeanAndHalfWidth(result.PerRound().Zip(off.PerRound(), Percent));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Name} vs off, round by round: {mean:+0.0;-0.0}% ± {halfWidth:0.0}% (95 % confidence over {Rounds} rounds; the harnesses' own spread, the A/A line, comes on top)"));
        }
        // The same processes, block after block: nothing but recording differs between the two. Each pair
        // is a ratio; their logs are averaged (a mean of percentages would lean upward by the blocks' spread).
        var onRuns = runs.Where(r => r.Name == On).ToList();
        var logRatios = onRuns.SelectMany(r => r.Steady.Recorded.Blocks.Zip(r.Steady.Quiet.Blocks, LogRatio)).ToList();
        var (recording, low, high) = Interval(logRatios);
        var perHarness = onRuns.Select(r => Percent(r.Steady.Recorded.CpuPerRequest, r.Steady.Quiet.CpuPerRequest)).ToList();
        var eachHarness = string.Join(", ", perHarness.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p:+0.0;-0.0}%")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recording vs recording stopped, in the same processes: {recording:+0.0;-0.0}% (95 % confidence {low:+0.0;-0.0}% to {high:+0.0;-0.0}% over {logRatios.Count} pairs of blocks; each 'on' harness: {eachHarness})"));
        // Met or missed only when the interval and each harness on its own agree: the harnesses have differed.
        var verdict = high <= Target && perHarness.All(p => p <= Target) ? "met" : low > Target && perHarness.All(p => p > Target) ? "missed" : "not shown";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"telemetry cpu_overhead={recording:+0.0;-0.0}% ({low:+0.0;-0.0}% to {high:+0.0;-0.0}%) target<={Target:0}% {verdict} (recording vs stopped, same processes) on_vs_off={results[1].Versus(off):+0.0;-0.0}% stopped_vs_off={quiet.Versus(off):+0.0;-0.0}% (between harnesses; A/A {aaSpread:0.0}%) endpoint_down_cpu_overhead={results[3].Versus(off):+0.0;-0.0}% endpoint_down_p50={results[3].Percentile(50):0.00}ms (off {off.Percentile(50):0.00}ms) received={receiver.Requests} exports"));
    }

    /// <summary>
    /// The budget's figure alone, in a crossover: the two "on" harnesses serve requests in turn, one
    /// recording and the other stopped, and swap within each pair of blocks. Both are measured over the same
    /// seconds, so what the machine does meanwhile (on a VM, one phase of requests can cost markedly more
    /// CPU than the next, in every process at once; ADR 0040) falls on both alike; each pair of
    /// blocks (either harness recording once) cancels what differs between the harnesses.
    /// </summary>
    private static async Task RunBudgetAsync(int requests)
    {
        await using var receiver = await Receiver.StartAsync();
        var runs = new List<Run>();
        // Each harness serves half the requests, recording in half the blocks.
        var blocks = Math.Max(MinBlocks, requests / 2 / BlockRequests) / 2 * 2;
        var perBlock = Math.Max(1, requests / 2 / blocks);
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var harness = await BenchHarness.StartAsync(1, [$"--Harness:TelemetryEndpoint={receiver.Url}"]);
                var run = new Run(On, harness, await harness.OwnerAsync("account-1"));
                runs.Add(run);
                await run.PrepareAsync();
            }
            await InterleaveAsync(runs, WarmUpRequests, run => run.WarmUp);
            var (first, second) = (runs[0], runs[1]);
            for (var block = 0; block < blocks; block++)
            {
                // The harness that records goes first, second, second, first, …: each pair of blocks has
                // either record once, and neither always follows the other.
                var recorder = (block % 4 is 0 or 3) ? first : second;
                var quiet = recorder == first ? second : first;
                await recorder.RecordAsync(true);
                await quiet.RecordAsync(false);
                await Run.MeasureInTurnAsync(block, perBlock, recorder, quiet);
            }
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.DisposeAsync();
            }
        }

        var recording = new ModeResult(On, runs.Select(r => r.Steady.Recorded).ToList());
        var stoppedResult = new ModeResult("on, recording stopped", runs.Select(r => r.Steady.Quiet).ToList());
        Console.WriteLine($"telemetry budget — {recording.Requests + stoppedResult.Requests} account queries through the platform, two harnesses with telemetry on serving in turn, one recording and one stopped, swapping within each pair of blocks of {perBlock} requests each ({blocks} blocks), each after {WarmUpRequests} warm-up requests; CPU of the runtime host and every workerd, over each block and the {Settle.TotalMilliseconds:0} ms after it");
        Console.WriteLine("| telemetry | CPU per request (ms) | vs recording stopped | each harness (ms: host+workerd) | runtime host / workerd (ms) | p50 (ms) | p95 (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var result in new[] { stoppedResult, recording })
        {
            Console.WriteLine(result.Row(stoppedResult));
        }
        // Each harness against itself, pair by pair: it recorded in one block and was stopped in the
        // other, moments apart, so the machine's drift between the two is in each ratio.
        var own = runs.Select(r => r.Steady.Recorded.Blocks.Zip(r.Steady.Quiet.Blocks, LogRatio).ToList()).ToList();
        // Both harnesses' ratios of a pair together: one harness's later block is the other's earlier
        // one, so the drift cancels (the pair's mean is the ratio of the two blocks' recording harness to
        // their stopped one, which ran over the same seconds, averaged over both ways round).
        var pairs = own[0].Zip(own[1], (a, b) => (a + b) / 2).ToList();
        var (cost, low, high) = Interval(pairs);
        var perHarness = own.Select(Interval).ToList();
        var eachHarness = string.Join(", ", perHarness.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Mean:+0.0;-0.0}% ({p.Low:+0.0;-0.0}% to {p.High:+0.0;-0.0}%)")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recording vs stopped, over the same seconds: {cost:+0.0;-0.0}% (95 % confidence {low:+0.0;-0.0}% to {high:+0.0;-0.0}% over {pairs.Count} pairs of blocks; each harness against itself: {eachHarness})"));
        // Met when the interval is under the target and neither harness on its own is shown over it;
        // missed when the interval is over it. Each harness's own interval carries the drift the pairs
        // cancel, so it only vetoes.
        var verdict = high <= Target && perHarness.All(p => p.Low <= Target) ? "met" : low > Target ? "missed" : "not shown";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"telemetry cpu_overhead={cost:+0.0;-0.0}% ({low:+0.0;-0.0}% to {high:+0.0;-0.0}%) target<={Target:0}% {verdict} (recording vs stopped, crossover) received={receiver.Requests} exports"));
    }

    /// <summary>Blocks a budget run has at least (an even number: half each harness records), for pairs enough that <see cref="StudentT95"/> holds.</summary>
    private const int MinBlocks = 22;

    /// <summary>Requests each harness serves in a block of a longer budget run, about: more blocks, not longer ones, as the requests grow.</summary>
    private const int BlockRequests = 300;

    /// <summary>A recording block's CPU per request against a stopped one's, as a log ratio.</summary>
    private static double LogRatio((int Round, double CpuMs, double HostCpuMs, int Requests) recorded, (int Round, double CpuMs, double HostCpuMs, int Requests) stopped) =>
        Math.Log(recorded.CpuMs / recorded.Requests / (stopped.CpuMs / stopped.Requests));

    /// <summary>The mean of log ratios, and its 95 % interval, as percentage changes.</summary>
    private static (double Mean, double Low, double High) Interval(List<double> logRatios)
    {
        var (mean, halfWidth) = MeanAndHalfWidth(logRatios);
        return (FromLog(mean), FromLog(mean - halfWidth), FromLog(mean + halfWidth));
    }

    private const double Target = 5;

    private static double Percent(double value, double baseline) => (value - baseline) / baseline * 100;

    /// <summary>A mean log ratio as a percentage change.</summary>
    private static double FromLog(double logRatio) => (Math.Exp(logRatio) - 1) * 100;

    /// <summary>The mean of <paramref name="values"/> and the half-width of its 95 % confidence interval (Student's t).</summary>
    private static (double Mean, double HalfWidth) MeanAndHalfWidth(IEnumerable<double> values)
    {
        var list = values.ToList();
        var mean = list.Average();
        var variance = list.Sum(d => (d - mean) * (d - mean)) / (list.Count - 1);
        return (mean, StudentT95(list.Count - 1) * Math.Sqrt(variance / list.Count));
    }

    /// <summary>Student's t, two-sided 95 %, for <paramref name="degrees"/> of freedom (within 0.03 of the table from 10 up, 0.01 from 16).</summary>
    private static double StudentT95(int degrees) => degrees >= 1 ? 1.96 + 2.4 / degrees : double.PositiveInfinity;

    /// <summary>One mode's harnesses together: CPU and latency over all their requests.</summary>
    private sealed record ModeResult(string Name, List<Tally> Runs)
    {
        public int Requests => Runs.Sum(r => r.Times.Count);

        public double CpuPerRequest => Runs.Sum(r => r.CpuMs) / Requests;

        public double HostCpuPerRequest => Runs.Sum(r => r.HostCpuMs) / Requests;

        public double Versus(ModeResult baseline) => Percent(CpuPerRequest, baseline.CpuPerRequest);

        public double Percentile(int p) => TempStacks.Percentile(Runs.SelectMany(r => r.Times).Order().ToList(), p);

        /// <summary>The mode's row of a table, up to its p95: CPU per request against <paramref name="baseline"/>, each harness's split between host and workerd, latency.</summary>
        public string Row(ModeResult baseline) => string.Create(CultureInfo.InvariantCulture,
            $"| {Name} | {CpuPerRequest:0.000} | {Versus(baseline):+0.0;-0.0}% | {string.Join(" / ", Runs.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.CpuPerRequest:0.000} ({r.HostCpuMs / r.Times.Count:0.00}+{(r.CpuMs - r.HostCpuMs) / r.Times.Count:0.00})")))} | {HostCpuPerRequest:0.000} / {CpuPerRequest - HostCpuPerRequest:0.000} | {Percentile(50):0.00} | {Percentile(95):0.00} |");

        /// <summary>The mode's CPU per request in each round (its harnesses together; each round's modes ran moments apart, so the machine's drift falls on all).</summary>
        public List<double> PerRound() => Runs.SelectMany(r => r.Blocks).GroupBy(b => b.Round).OrderBy(g => g.Key)
            .Select(round => round.Sum(b => b.CpuMs) / round.Sum(b => b.Requests))
            .ToList();
    }

    private const int Rounds = 20;

    /// <summary>
    /// How long a block's CPU is still counted after its last answer: as long as an isolate's batch of
    /// records waits before its export (trace-context.js's <c>BATCH_DELAY_MS</c>, read from it), and
    /// time for the export.
    /// </summary>
    private static readonly TimeSpan Settle = RecorderBatchDelay.Read(Repository.Root) + TimeSpan.FromMilliseconds(800);

    /// <summary>Requests each harness serves before it is measured (a fresh harness's CPU a request settles over a few thousand).</summary>
    private const int WarmUpRequests = 3000;

    /// <summary>
    /// <paramref name="requests"/> requests to each harness in <see cref="Rounds"/> rounds, one harness
    /// after the other, so that whatever the machine does meanwhile falls on every mode alike. An "on"
    /// harness serves each round's two blocks recording and with recording stopped, in alternating order.
    /// </summary>
    private static async Task InterleaveAsync(List<Run> runs, int requests, Func<Run, Phase> into)
    {
        // Every harness serves two half-blocks a round, so each serves as many requests (a harness's CPU
        // per request falls as it serves more) and waits out as many settles.
        var perBlock = Math.Max(1, requests / Rounds / 2);
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var run in runs)
            {
                var phase = into(run);
                if (run.Name != On)
                {
                    await run.MeasureAsync(round, perBlock, phase.Recorded);
                    await run.MeasureAsync(round, perBlock, phase.Recorded);
                    continue;
                }
                foreach (var recording in round % 2 == 0 ? [true, false] : new[] { false, true })
                {
                    await run.RecordAsync(recording);
                    await run.MeasureAsync(round, perBlock, recording ? phase.Recorded : phase.Quiet);
                }
            }
        }
    }

    /// <summary>What a harness's requests of one phase measured: recorded as the mode has it, and (an "on" harness) with recording stopped.</summary>
    private sealed class Phase
    {
        public Tally Recorded { get; } = new();

        public Tally Quiet { get; } = new();
    }

    /// <summary>What a harness's requests of one phase measured: their latencies, and the CPU they cost.</summary>
    private sealed class Tally
    {
        public List<double> Times { get; } = [];

        /// <summary>Each block's round, CPU (ms), the runtime host's share of it, and its requests, in order.</summary>
        public List<(int Round, double CpuMs, double HostCpuMs, int Requests)> Blocks { get; } = [];

        public double CpuMs => Blocks.Sum(r => r.CpuMs);

        /// <summary>The runtime host's own share of <see cref="CpuMs"/> (the rest is workerd's).</summary>
        public double HostCpuMs => Blocks.Sum(r => r.HostCpuMs);

        public double CpuPerRequest => CpuMs / Times.Count;
    }

    /// <summary>One mode's harness, its owner's client and what its requests measured.</summary>
    private sealed class Run(string name, BenchHarness harness, (HttpClient Http, Uri ViaPlatform, Uri Direct, string Token) owner) : IAsyncDisposable
    {
        private readonly Uri _query = new(owner.ViaPlatform, "api/clients?status=active&sort=name&limit=50");

        public string Name { get; } = name;

        public Phase WarmUp { get; } = new();

        public Phase Steady { get; } = new();

        public async Task PrepareAsync()
        {
            for (var i = 0; i < Clients; i++)
            {
                (await owner.Http.PostAsync(new Uri(owner.ViaPlatform, "api/clients"), System.Net.Http.Json.JsonContent.Create(new { name = $"Client {i}", status = "active" }))).EnsureSuccessStatusCode();
            }
        }

        /// <summary>Starts or stops recording on both stacks a request goes through.</summary>
        public async Task RecordAsync(bool recording)
        {
            foreach (var stack in new[] { "platform", "acct-account-1" })
            {
                await harness.Supervisor.SetTelemetryRecordingAsync(stack, recording, CancellationToken.None);
            }
        }

        /// <summary>
        /// Sends one block of requests; its CPU runs from its start to <see cref="Settle"/> after its last
        /// answer, so telemetry's work that comes after the requests (records written and exported once
        /// their batch's wait is over) belongs to them.
        /// </summary>
        public async Task MeasureAsync(int round, int requests, Tally into)
        {
            var start = TreeCpuMs(HostProcess);
            for (var i = 0; i < requests; i++)
            {
                await SendAsync(into);
            }
            await Task.Delay(Settle);
            var end = TreeCpuMs(HostProcess);
            into.Blocks.Add((round, end.Tree - start.Tree, end.Root - start.Root, requests));
        }

        /// <summary>
        /// One block of the budget run: <paramref name="requests"/> requests to each of two harnesses in
        /// turn (which one first alternates), <paramref name="recorder"/> recording and
        /// <paramref name="quiet"/> stopped, each one's CPU counted from the block's start to
        /// <see cref="Settle"/> after its last answer.
        /// </summary>
        public static async Task MeasureInTurnAsync(int block, int requests, Run recorder, Run quiet)
        {
            var (recorderStart, quietStart) = (TreeCpuMs(recorder.HostProcess), TreeCpuMs(quiet.HostProcess));
            for (var i = 0; i < requests; i++)
            {
                var (one, other) = i % 2 == 0 ? (recorder, quiet) : (quiet, recorder);
                await one.SendAsync(one == recorder ? one.Steady.Recorded : one.Steady.Quiet);
                await other.SendAsync(other == recorder ? other.Steady.Recorded : other.Steady.Quiet);
            }
            await Task.Delay(Settle);
            var (recorderEnd, quietEnd) = (TreeCpuMs(recorder.HostProcess), TreeCpuMs(quiet.HostProcess));
            recorder.Steady.Recorded.Blocks.Add((block, recorderEnd.Tree - recorderStart.Tree, recorderEnd.Root - recorderStart.Root, requests));
            quiet.Steady.Quiet.Blocks.Add((block, quietEnd.Tree - quietStart.Tree, quietEnd.Root - quietStart.Root, requests));
        }

        /// <summary>One request of the query, its latency kept in <paramref name="into"/>.</summary>
        private async Task SendAsync(Tally into)
        {
            var clock = Stopwatch.StartNew();
            using var response = await owner.Http.GetAsync(_query);
            await response.Content.ReadAsByteArrayAsync();
            into.Times.Add(clock.Elapsed.TotalMilliseconds);
            response.EnsureSuccessStatusCode();
        }

        private int HostProcess => harness.Supervisor.HostProcessId ?? throw new InvalidOperationException("no runtime host");

        public async ValueTask DisposeAsync()
        {
            owner.Http.Dispose();
            await harness.DisposeAsync();
        }
    }

    /// <summary>
    /// CPU time (ms) of a process and all its descendants, and of the process alone, in one pass over
    /// /proc: each thread's run time from its schedstat, in nanoseconds (/proc/…/stat counts 10 ms ticks,
    /// coarse beside a round's few hundred ms). A process or thread that ended meanwhile counts 0.
    /// </summary>
    private static (double Tree, double Root) TreeCpuMs(int root)
    {
        double tree = 0, own = 0;
        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            double process = 0;
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    process += ThreadCpuMs(task);
                    foreach (var child in ReadOrEmpty(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        pending.Push(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
            tree += process;
            if (pid == root)
            {
                own = process;
            }
        }
        return (tree, own);
    }

    private static double ThreadCpuMs(string task)
    {
        var schedstat = ReadOrEmpty(Path.Combine(task, "schedstat"));
        var end = schedstat.IndexOf(' ');
        return end <= 0 ? 0 : long.Parse(schedstat.AsSpan(0, end), CultureInfo.InvariantCulture) / 1e6;
    }

    /// <summary>A /proc file's text, or "" when its thread ended meanwhile.</summary>
    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>An OTLP/HTTP endpoint that takes everything and counts the exports.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _requests;

        private Receiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public int Requests => _requests;

        public static async Task<Receiver> StartAsync()
        {
            var port = ClosedPort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
            var app = builder.Build();
            var receiver = new Receiver(app) { Url = $"http://127.0.0.1:{port}" };
            app.MapPost("/v1/{signal}", async (HttpRequest request) =>
            {
                await request.Body.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref receiver._requests);
                return Results.Json(new { });
            });
            await app.StartAsync();
            return receiver;
        }

        /// <summary>A loopback port nothing listens on (taken and let go).</summary>
        public static int ClosedPort()
        {
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
