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
/// each on a harness of its own. CPU is the runtime host's and every workerd's (where telemetry
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
        var results = new List<(string Mode, double CpuMs, double P50, double P95)>();
        foreach (var (name, arguments) in modes)
        {
            await using var harness = await BenchHarness.StartAsync(1, arguments);
            var (http, viaPlatform, _, _) = await harness.OwnerAsync("account-1");
            using var _ = http;
            for (var i = 0; i < Clients; i++)
            {
                (await http.PostAsync(new Uri(viaPlatform, "api/clients"), System.Net.Http.Json.JsonContent.Create(new { name = $"Client {i}", status = "active" }))).EnsureSuccessStatusCode();
            }
            var query = new Uri(viaPlatform, "api/clients?status=active&sort=name&limit=50");
            for (var i = 0; i < 50; i++)
            {
                (await http.GetAsync(query)).EnsureSuccessStatusCode();
            }
            var host = harness.Supervisor.HostProcessId ?? throw new InvalidOperationException("no runtime host");
            var cpuBefore = TreeCpuMs(host);
            var times = new List<double>(requests);
            for (var i = 0; i < requests; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await http.GetAsync(query);
                await response.Content.ReadAsByteArrayAsync();
                times.Add(clock.Elapsed.TotalMilliseconds);
                response.EnsureSuccessStatusCode();
            }
            var cpu = (TreeCpuMs(host) - cpuBefore) / requests;
            times.Sort();
            results.Add((name, cpu, TempStacks.Percentile(times, 50), TempStacks.Percentile(times, 95)));
        }

        var off = results[0];
        Console.WriteLine($"telemetry overhead — {requests} account queries through the platform in each mode, one harness each; CPU of the runtime host and every workerd");
        Console.WriteLine("| telemetry | CPU per request (ms) | vs off | p50 (ms) | p95 (ms) |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (mode, cpu, p50, p95) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {mode} | {cpu:0.00} | {(cpu - off.CpuMs) / off.CpuMs * 100:+0.0;-0.0}% | {p50:0.00} | {p95:0.00} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"telemetry cpu_overhead={(results[1].CpuMs - off.CpuMs) / off.CpuMs * 100:+0.0;-0.0}% target<=5% endpoint_down_p50={results[2].P50:0.00}ms (off {off.P50:0.00}ms) received={receiver.Requests} exports"));
    }

    /// <summary>CPU time (ms) of a process and all its descendants, from /proc.</summary>
    private static double TreeCpuMs(int root)
    {
        double total = 0;
        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        pending.Push(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
        }
        return total;
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
