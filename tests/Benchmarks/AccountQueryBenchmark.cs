using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Cloudflare.Emulation.Seeding;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// One account with N clients (and their dependants, cases, tasks, documents, contacts), then
/// filtered, sorted pages of the account API, timed end to end over HTTP through the platform, as a
/// user reaches them (and, beside it, on the account Worker's own port). Target: p95 ≤ 50 ms.
/// </summary>
internal static class AccountQueryBenchmark
{
    private const int Samples = 200;

    public static async Task RunAsync(int clients)
    {
        await using var harness = await BenchHarness.StartAsync(accounts: 0);
        using var signup = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        await harness.SignupAsync(signup, "bench");
        var (http, baseUrl, direct, token) = await harness.OwnerAsync("bench");
        using var _ = http;

        var data = new SeedDataGenerator(10_000).Generate(new SeedSize(clients));
        var load = Stopwatch.StartNew();
        var ids = await new SeedLoader(http, baseUrl, token).LoadAsync(data, progress: null, CancellationToken.None);
        Console.WriteLine($"account query benchmark — {clients} clients, {data.Count("dependants")} dependants, {data.Count("cases")} cases, " +
                          $"{data.Count("case-tasks")} tasks, {data.Documents.Count} documents; loaded in {load.Elapsed.TotalSeconds:0.0} s through the API");
        Console.WriteLine("| query | through the platform: p50 (ms) | p95 (ms) | max (ms) | the Worker's own port: p50 / p95 (ms) | rows/page |");
        Console.WriteLine("|---|---|---|---|---|---|");

        var random = new Random(1);
        string Pick(string entity) => ids[entity][random.Next(ids[entity].Count)];
        var queries = new (string Name, Func<string> Path)[]
        {
            ("clients?status=active&sort=name (page 1)", () => "api/clients?status=active&sort=name&limit=50"),
            ("clients?status=active&sort=name (deep page)", () => "DEEP:api/clients?status=active&sort=name&limit=50"),
            ("clients?sort=-createdAt", () => "api/clients?sort=-createdAt&limit=50"),
            ("clients?assignedTo=<user>&sort=name", () => $"api/clients?assignedTo={Pick("users")}&sort=name&limit=50"),
            ("cases?status=open&sort=-openedAt", () => "api/cases?status=open&sort=-openedAt&limit=50"),
            ("cases?clientId=<client>", () => $"api/cases?clientId={Pick("clients")}"),
            ("case-tasks?status=todo&sort=dueDate", () => "api/case-tasks?status=todo&sort=dueDate&limit=50"),
            ("documents?clientId=<client>", () => $"api/documents?clientId={Pick("clients")}"),
            ("dependants?clientId=<client>", () => $"api/dependants?clientId={Pick("clients")}"),
            ("clients/<id>", () => $"api/clients/{Pick("clients")}"),
        };
        foreach (var (name, path) in queries)
        {
            var viaPlatform = new List<double>();
            var ownPort = new List<double>();
            var rows = 0;
            for (var i = 0; i < Samples; i++)
            {
                var target = path();
                if (target.StartsWith("DEEP:", StringComparison.Ordinal))
                {
                    // A page somewhere in the middle: follow the cursor a random number of pages first.
                    target = await CursorAtDepthAsync(http, baseUrl, target[5..], random.Next(5, 40));
                }
                // The same request both ways, alternating which goes first.
                foreach (var (origin, times) in i % 2 == 0 ? [(baseUrl, viaPlatform), (direct, ownPort)] : new[] { (direct, ownPort), (baseUrl, viaPlatform) })
                {
                    var clock = Stopwatch.StartNew();
                    using var response = await http.GetAsync(new Uri(origin, target));
                    var body = await response.Content.ReadAsStringAsync();
                    times.Add(clock.Elapsed.TotalMilliseconds);
                    response.EnsureSuccessStatusCode();
                    rows = JsonDocument.Parse(body).RootElement.TryGetProperty("items", out var items) ? items.GetArrayLength() : 1;
                }
            }
            viaPlatform.Sort();
            ownPort.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {TempStacks.Percentile(viaPlatform, 50):0.0} | {TempStacks.Percentile(viaPlatform, 95):0.0} | {viaPlatform[^1]:0.0} | {TempStacks.Percentile(ownPort, 50):0.0} / {TempStacks.Percentile(ownPort, 95):0.0} | {rows} |"));
        }
    }

    private static async Task<string> CursorAtDepthAsync(HttpClient http, Uri baseUrl, string path, int depth)
    {
        var cursor = "";
        for (var page = 0; page < depth; page++)
        {
            var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(baseUrl, path + cursor)));
            var next = json.RootElement.GetProperty("nextCursor").GetString();
            if (next is null)
            {
                break;
            }
            cursor = "&cursor=" + next;
        }
        return path + cursor;
    }
}
