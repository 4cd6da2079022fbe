using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Cloudflare.Emulation.Seeding;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// A read-heavy workload (90 % reads, 10 % writes, each write after a read of the record's version;
/// every client carries its D1 bookmark) against one
/// account, with read replication off, on with no lag (the emulation's own cost), and on with 100 ms
/// of lag (what bookmarked reads then wait for). Target: the emulation's overhead ≤ 20 %. BENCH_WRITES sets
/// the share of writes (default 0.1; 0 for reads only).
/// </summary>
internal static class ReplicationBenchmark
{
    private const int Clients = 8;
    private const int RecordCount = 500;
    private static readonly double WriteShare = double.Parse(Environment.GetEnvironmentVariable("BENCH_WRITES") ?? "0.1", CultureInfo.InvariantCulture);

    public static async Task RunAsync(int operationsPerClient)
    {
        await using var stacks = await TempStacks.StartAsync();
        var supervisor = stacks.Supervisor;
        using var account = await stacks.StartAccountAsync("bench");
        var (baseUrl, http, token) = (account.BaseUrl, account.Http, account.Token);
        var data = new SeedDataGenerator(5).Generate(new SeedSize(RecordCount));
        var ids = (await new SeedLoader(http, baseUrl, token).LoadAsync(data, progress: null, CancellationToken.None))["clients"];

        Console.WriteLine($"read replication benchmark — {Clients} concurrent clients × {operationsPerClient} operations (90 % reads: a client by id or a page of 20; 10 % edits), {ids.Count} clients in the account");
        Console.WriteLine("| replication | requests/s | read p50 (ms) | read p95 (ms) | write p50 (ms) | writes refused as stale (412) | errors |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        // Warm up both paths; the replicas also catch up with the loaded data here, not in a measured round.
        await PhaseAsync("warm-up (off)", new { replicas = 0, lagMs = 0 }, print: false);
        await PhaseAsync("warm-up (on)", new { replicas = 2, lagMs = 0 }, print: false);
        // Off and on alternate, twice, so a trend over the run (the database grows) does not favour either.
        var off = new List<Result>();
        var on = new List<Result>();
        for (var round = 1; round <= 3; round++)
        {
            off.Add(await PhaseAsync($"off (primary only), round {round}", new { replicas = 0, lagMs = 0 }));
            on.Add(await PhaseAsync($"2 replicas, lag 0, round {round}", new { replicas = 2, lagMs = 0 }));
        }
        await PhaseAsync("2 replicas, lag 100 ms", new { replicas = 2, lagMs = 100 });
        double Mean(List<Result> results, Func<Result, double> metric) => results.Average(metric);
        var throughput = 100 * (Mean(off, r => r.OpsPerSecond) - Mean(on, r => r.OpsPerSecond)) / Mean(off, r => r.OpsPerSecond);
        var latency = 100 * (Mean(on, r => r.ReadP50) - Mean(off, r => r.ReadP50)) / Mean(off, r => r.ReadP50);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"emulation overhead (lag 0 vs off, mean of 3 rounds): throughput {throughput:0.0} %, read p50 {latency:0.0} % (target ≤ 20 %)"));

        async Task<Result> PhaseAsync(string name, object settings, bool print = true)
        {
            await supervisor.D1ReplicationAsync("bench", "DB", settings, CancellationToken.None);
            var reads = new System.Collections.Concurrent.ConcurrentBag<double>();
            var writes = new System.Collections.Concurrent.ConcurrentBag<double>();
            var errors = 0;
            var stale = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(async k =>
            {
                var random = new Random(k);
                string? bookmark = null;
                for (var i = 0; i < operationsPerClient; i++)
                {
                    var write = random.NextDouble() < WriteShare;
                    var id = ids[random.Next(ids.Count)];
                    using var request = write
                        ? new HttpRequestMessage(HttpMethod.Patch, new Uri(baseUrl, $"api/clients/{id}")) { Content = JsonContent.Create(new { notes = $"edit {i}" }) }
                        : new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, random.Next(2) == 0 ? $"api/clients/{id}" : "api/clients?status=active&sort=name&limit=20"));
                    if (write)
                    {
                        // Read the current version with this client's bookmark first: a read like any
                        // other, timed and counted as one.
                        var (version, readMs, readOk) = await VersionAsync(id, bookmark);
                        reads.Add(readMs);
                        if (!readOk)
                        {
                            Interlocked.Increment(ref errors);
                        }
                        request.Headers.TryAddWithoutValidation("If-Match", version);
                    }
                    if (bookmark is not null)
                    {
                        request.Headers.TryAddWithoutValidation("x-d1-bookmark", bookmark);
                    }
                    var started = Stopwatch.GetTimestamp();
                    using var response = await http.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    (write ? writes : reads).Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    if (write && response.StatusCode == System.Net.HttpStatusCode.PreconditionFailed)
                    {
                        // Another client changed the record between this one's read and write: refused, not written.
                        Interlocked.Increment(ref stale);
                    }
                    else if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                    }
                    bookmark = response.Headers.TryGetValues("x-d1-bookmark", out var values) ? values.First() : bookmark;
                }
            }));
            var seconds = clock.Elapsed.TotalSeconds;
            var sortedReads = reads.Order().ToList();
            var sortedWrites = writes.Order().ToList();
            // Every request sent counts: the reads (a version read before each write among them) and the writes.
            var result = new Result((reads.Count + writes.Count) / seconds, TempStacks.Percentile(sortedReads, 50));
            if (print)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {result.OpsPerSecond:0} | {result.ReadP50:0.0} | {TempStacks.Percentile(sortedReads, 95):0.0} | {TempStacks.Percentile(sortedWrites, 50):0.0} | {stale} | {errors} |"));
            }
            return result;
        }

        async Task<(string Version, double Ms, bool Ok)> VersionAsync(string id, string? bookmark)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, $"api/clients/{id}"));
            if (bookmark is not null)
            {
                request.Headers.TryAddWithoutValidation("x-d1-bookmark", bookmark);
            }
            var started = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request);
            var record = await response.Content.ReadFromJsonAsync<JsonElement>();
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return response.IsSuccessStatusCode
                ? ($"\"{record.GetProperty("tracking").GetProperty("version").GetInt64()}\"", ms, true)
                : ("\"0\"", ms, false);
        }
    }

    private sealed record Result(double OpsPerSecond, double ReadP50);
}
