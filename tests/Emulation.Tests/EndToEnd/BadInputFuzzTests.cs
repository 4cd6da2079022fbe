using System.Text;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// A seeded pass of hostile and malformed requests over every route of the account API, through the
/// platform: whatever the input, the answer is never a 5xx, and every 4xx is JSON that says what is wrong.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class BadInputFuzzTests(HarnessFixture harness)
{
    private const int Requests = 400;

    private static readonly string[] Entities =
    [
        "users", "groups", "group-members", "clients", "dependants", "dependant-clients", "cases", "case-tasks",
        "documents", "contact-companies", "contact-individuals", "client-contacts", "audit-events",
    ];

    private static readonly string[] Nasty =
    [
        "' OR 1=1 --", "\"; DROP TABLE clients; --", "%00", "../../etc/passwd", "\u0000", "💥", "<script>alert(1)</script>",
        "1e309", "-0", "NaN", "null", "{}", "[]", "\\", new string('a', 2000), "00000000-0000-4000-8000-000000000000",
        "Robert'); DELETE FROM users;--", "$.tracking.version", "id", "body",
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task No_input_gets_a_5xx_and_every_4xx_says_what_is_wrong(int seed)
    {
        var random = new Random(seed);
        var api = harness.AsOwner("account-1");
        // The other tenant is used meanwhile: every one of its requests must succeed.
        using var stop = new CancellationTokenSource();
        var other = harness.AsOwner("account-2");
        var otherStatuses = new System.Collections.Concurrent.ConcurrentBag<System.Net.HttpStatusCode>();
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await other.SendAsync(HttpMethod.Get, "/api/clients?limit=1");
                otherStatuses.Add(response.StatusCode);
            }
        });
        var failures = new List<string>();
        var started = DateTimeOffset.UtcNow.ToString("O");
        var created = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Requests; i++)
        {
            var entity = Entities[random.Next(Entities.Length)];
            var (method, path, content) = random.Next(6) switch
            {
                0 => (HttpMethod.Post, $"/api/{entity}", Body(random)),
                1 => (HttpMethod.Post, $"/api/{entity}/batch", Body(random)),
                2 => (HttpMethod.Get, $"/api/{entity}?{Uri.EscapeDataString(Pick(random, Nasty))}={Uri.EscapeDataString(Pick(random, Nasty))}", null),
                3 => (HttpMethod.Get, $"/api/{entity}/{Uri.EscapeDataString(Pick(random, Nasty))}", null),
                4 => (HttpMethod.Patch, $"/api/{entity}/{Guid.NewGuid()}", Body(random)),
                _ => (HttpMethod.Delete, $"/api/{entity}/{Uri.EscapeDataString(Pick(random, Nasty))}", null),
            };
            using var request = new HttpRequestMessage(method, api.Url(path)) { Content = content };
            request.Headers.Authorization = new("Bearer", harness.Tokens.Issue("account-1", harness.Owners["account-1"], TimeSpan.FromMinutes(5)));
            if (random.Next(2) == 0)
            {
                request.Headers.TryAddWithoutValidation("If-Match", Pick(random, ["\"1\"", "W/\"2\"", "garbage", "\"-1\"", "*"]));
            }
            using var response = await harness.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            if (status == 201)
            {
                // Odd but valid input is accepted; remember what it created.
                var body = JsonDocument.Parse(text).RootElement;
                foreach (var record in body.TryGetProperty("items", out var items) ? items.EnumerateArray() : new[] { body }.AsEnumerable())
                {
                    created.Add(record.GetProperty("id").GetString()!);
                }
            }
            if (status >= 500)
            {
                failures.Add($"{method} {Short(path)} → {status} {Short(text)}");
            }
            else if (status >= 400 && !SaysWhy(text))
            {
                failures.Add($"{method} {Short(path)} → {status} without an error body: {Short(text)}");
            }
        }
        await stop.CancelAsync();
        await traffic;
        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(20)));

        // Nothing refused was written: every record created during the run is one a 201 announced.
        var strays = await CreatedSinceAsync(started);
        Assert.True(strays.All(created.Contains), $"written without a 201: {string.Join(", ", strays.Where(id => !created.Contains(id)).Take(10))}");
        // And the other tenant kept serving throughout.
        Assert.True(otherStatuses.Count >= 20, $"only {otherStatuses.Count} requests reached the other tenant");
        Assert.All(otherStatuses, status => Assert.Equal(System.Net.HttpStatusCode.OK, status));
    }

    /// <summary>Every filter the account API offers, by entity (workers/account/src/entities/catalog.ts).</summary>
    private static readonly (string Entity, string Filter)[] Filters =
    [
        ("clients", "status"), ("clients", "assignedTo"), ("clients", "email"), ("users", "role"), ("users", "status"), ("users", "email"),
        ("group-members", "groupId"), ("group-members", "userId"), ("dependants", "clientId"), ("dependant-clients", "dependantId"),
        ("dependant-clients", "clientId"), ("cases", "clientId"), ("cases", "status"), ("cases", "assignedTo"), ("case-tasks", "caseId"),
        ("case-tasks", "status"), ("case-tasks", "assignedTo"), ("case-tasks", "dueDate"), ("documents", "clientId"), ("documents", "caseId"),
        ("contact-companies", "kind"), ("contact-individuals", "companyId"), ("contact-individuals", "email"), ("client-contacts", "clientId"),
        ("client-contacts", "contactId"), ("audit-events", "entity"),
    ];

    private static readonly string[] SqlLooking =
    [
        "' OR '1'='1", "x' UNION SELECT body FROM users --", "1; DROP TABLE clients", "active' --", "%' OR body LIKE '%",
        "\"; DELETE FROM clients; --", "0 OR 1=1", "') OR json_extract(body, '$.role') = 'owner' --",
    ];

    [Fact]
    public async Task SQL_looking_values_in_every_filter_and_sort_are_inert()
    {
        var api = harness.AsOwner("account-1");
        var started = DateTimeOffset.UtcNow.ToString("O");
        var failures = new List<string>();
        var before = (await api.ListAllIdsAsync("clients")).Count;
        foreach (var (entity, filter) in Filters)
        {
            foreach (var value in SqlLooking)
            {
                using var response = await api.SendAsync(HttpMethod.Get, $"/api/{entity}?{filter}={Uri.EscapeDataString(value)}");
                var text = await response.Content.ReadAsStringAsync();
                var status = (int)response.StatusCode;
                // A value that fits the filter's type is just a value: an empty page. One that does not is a 400 naming the filter.
                if (status == 200 ? JsonDocument.Parse(text).RootElement.GetProperty("items").GetArrayLength() != 0 : status != 400 || !text.Contains(filter, StringComparison.Ordinal))
                {
                    failures.Add($"{entity}?{filter}={value} → {status} {Short(text)}");
                }
            }
            using var sort = await api.SendAsync(HttpMethod.Get, $"/api/{entity}?sort={Uri.EscapeDataString("name; DROP TABLE clients")}");
            if (sort.StatusCode != System.Net.HttpStatusCode.BadRequest)
            {
                failures.Add($"{entity}?sort=<sql> → {(int)sort.StatusCode}");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(20)));
        Assert.Empty(await CreatedSinceAsync(started));
        Assert.Equal(before, (await api.ListAllIdsAsync("clients")).Count);
    }

    /// <summary>Ids of every record (any table but the audit trail) account-1's D1 holds that was created since <paramref name="since"/>.</summary>
    private async Task<List<string>> CreatedSinceAsync(string since)
    {
        var database = harness.DatabaseIdOf(HarnessFixture.StackOf("account-1"));
        var path = $"accounts/{harness.ControlPlane.AccountId}/d1/database/{database}/query";
        var (_, tables) = await harness.CloudflareAsync(HttpMethod.Post, path,
            new { sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%body TEXT%' AND name NOT IN ('audit_events') AND name NOT LIKE '\\_%' ESCAPE '\\'" });
        var ids = new List<string>();
        foreach (var table in tables.GetProperty("result")[0].GetProperty("results").EnumerateArray().Select(t => t.GetProperty("name").GetString()!))
        {
            var (_, rows) = await harness.CloudflareAsync(HttpMethod.Post, path,
                new { sql = $"SELECT id FROM \"{table}\" WHERE json_extract(body, '$.tracking.createdAt') >= ?", @params = new[] { since } });
            ids.AddRange(rows.GetProperty("result")[0].GetProperty("results").EnumerateArray().Select(r => $"{r.GetProperty("id").GetString()!}"));
        }
        return ids;
    }

    private static string Short(string text) => text.Length <= 120 ? text : text[..120] + "…";

    private static bool SaysWhy(string text)
    {
        try
        {
            var body = JsonDocument.Parse(text).RootElement;
            return body.TryGetProperty("error", out _) && body.TryGetProperty("message", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    /// <summary>Malformed JSON, wrong types, deep nesting, huge strings, invalid UTF-8 and SQL-looking values.</summary>
    private static HttpContent Body(Random random)
    {
        byte[] bytes = random.Next(8) switch
        {
            0 => Encoding.UTF8.GetBytes("{\"name\": "),
            1 => Encoding.UTF8.GetBytes(new string('[', 5000) + new string(']', 5000)),
            2 => [0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d],
            3 => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { name = new string('x', 300_000) })),
            4 => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { items = Enumerable.Range(0, 150).Select(i => new { name = $"n{i}" }) })),
            5 => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["name"] = Pick(random, Nasty),
                ["email"] = Pick(random, Nasty),
                ["status"] = Pick(random, Nasty),
                ["clientId"] = Pick(random, Nasty),
                ["role"] = Pick(random, Nasty),
            })),
            6 => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { name = 42, status = new[] { 1 }, tracking = new { version = 99 }, id = "x" })),
            _ => Encoding.UTF8.GetBytes(Nested(random.Next(50, 3000))),
        };
        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", random.Next(5) == 0 ? "text/plain" : "application/json");
        return content;
    }

    private static string Nested(int depth) => new StringBuilder().Insert(0, "{\"a\":", depth).Append("1").Append('}', depth).ToString();
}
