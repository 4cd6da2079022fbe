using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// What telemetry costs a request (issue 17, ADR 0036): the same account query through the platform,
/// with telemetry off, on (exported to a receiver in this process) and on with its endpoint down —
/// each on two harnesses of its own. CPU is the runtime host's and every workerd's (where telemetry
/// runs) per request; latency is what the client saw. Targets: CPU ≤ 5 % more with it on; a down
/// endpoint slows no request.
/// </summary>
internal static class TelemetryOverheadBenchmark
{
    private const int Clients = 50;

    public static async Task RunAsync(int requests)
    {
        await using var receiver = await Receiver.StartAsync();
        var down = Receiver.ClosedPort();
        var modes = new (string Name, string[] Arguments)[]
        {
            ("off", ["--telemetry", "false"]),
            ("on", [$"--Harness:TelemetryEndpoint={receiver.Url}"]),
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
            var perRound = Math.Max(1, requests / Rounds / 2);
            for (var round = 0; round < Rounds; round++)
            {
                foreach (var run in runs)
                {
                    await run.MeasureAsync(perRound);
                }
            }
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.DisposeAsync();
            }
        }

        var results = modes.Select(mode => new ModeResult(mode.Name, runs.Where(r => r.Name == mode.Name).ToList())).ToList();
        var off = results[0];
        Console.WriteLine($"telemetry overhead — {off.Requests} account queries through the platform per mode, in {Rounds} interleaved rounds, two harnesses per mode started in mirrored order; CPU of the runtime host and every workerd");
        Console.WriteLine("| telemetry | CPU per request (ms) | vs off | each harness (ms) | runtime host / workerd (ms) | p50 (ms) | p95 (ms) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var result in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {result.Name} | {result.CpuPerRequest:0.000} | {result.Versus(off):+0.0;-0.0}% | {string.Join(" / ", result.Runs.Select(r => r.CpuPerRequest.ToString("0.000", CultureInfo.InvariantCulture)))} | {result.HostCpuPerRequest:0.000} / {result.CpuPerRequest - result.HostCpuPerRequest:0.000} | {result.Percentile(50):0.00} | {result.Percentile(95):0.00} |"));
        }
        // The two "off" harnesses are an A/A run: how far apart identical harnesses measure is the noise
        // under every other figure here.
        var aa = off.Runs.Select(r => r.CpuPerRequest).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"A/A: the two 'off' harnesses differ by {(aa.Max() - aa.Min()) / aa.Min() * 100:0.0}% (the noise under these figures)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"telemetry cpu_overhead={results[1].Versus(off):+0.0;-0.0}% target<=5% endpoint_down_cpu_overhead={results[2].Versus(off):+0.0;-0.0}% endpoint_down_p50={results[2].Percentile(50):0.00}ms (off {off.Percentile(50):0.00}ms) received={receiver.Requests} exports"));
    }

    /// <summary>One mode's harnesses together: CPU and latency over all their requests.</summary>
    private sealed record ModeResult(string Name, List<Run> Runs)
    {
        public int Requests => Runs.Sum(r => r.Times.Count);

        public double CpuPerRequest => Runs.Sum(r => r.CpuMs) / Requests;

        public double HostCpuPerRequest => Runs.Sum(r => r.HostCpuMs) / Requests;

        public double Versus(ModeResult baseline) => (CpuPerRequest - baseline.CpuPerRequest) / baseline.CpuPerRequest * 100;

        public double Percentile(int p) => TempStacks.Percentile(Runs.SelectMany(r => r.Times).Order().ToList(), p);
    }

    private const int Rounds = 30;

    private const int WarmUpRequests = 400;

    /// <summary>One mode's harness, its owner's client and what its requests measured.</summary>
    private sealed class Run(string name, BenchHarness harness, (HttpClient Http, Uri ViaPlatform, Uri Direct, string Token) owner) : IAsyncDisposable
    {
        private readonly Uri _query = new(owner.ViaPlatform, "api/clients?status=active&sort=name&limit=50");

        public string Name { get; } = name;

        public List<double> Times { get; } = [];

        public double CpuMs { get; private set; }

        /// <summary>The runtime host's own share of <see cref="CpuMs"/> (the rest is workerd's).</summary>
        public double HostCpuMs { get; private set; }

        public double CpuPerRequest => CpuMs / Times.Count;

        public async Task PrepareAsync()
        {
            for (var i = 0; i < Clients; i++)
            {
                (await owner.Http.PostAsync(new Uri(owner.ViaPlatform, "api/clients"), System.Net.Http.Json.JsonContent.Create(new { name = $"Client {i}", status = "active" }))).EnsureSuccessStatusCode();
            }
            // Warm: the measured requests run the code as the JIT has settled on it, in every harness alike.
            for (var i = 0; i < WarmUpRequests; i++)
            {
                (await owner.Http.GetAsync(_query)).EnsureSuccessStatusCode();
            }
        }

        public async Task MeasureAsync(int requests)
        {
            var host = harness.Supervisor.HostProcessId ?? throw new InvalidOperationException("no runtime host");
            var before = TreeCpuMs(host);
            for (var i = 0; i < requests; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await owner.Http.GetAsync(_query);
                await response.Content.ReadAsByteArrayAsync();
                Times.Add(clock.Elapsed.TotalMilliseconds);
                response.EnsureSuccessStatusCode();
            }
            var after = TreeCpuMs(host);
            CpuMs += after.Tree - before.Tree;
            HostCpuMs += after.Root - before.Root;
        }

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
