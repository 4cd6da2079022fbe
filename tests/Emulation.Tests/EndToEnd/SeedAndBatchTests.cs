using System.Net;
using Cloudflare.Emulation.Seeding;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Batches are all or nothing; generated data loads through the real API.</summary>
[Collection(HarnessCollection.Name)]
public sealed class SeedAndBatchTests(HarnessFixture harness)
{
    private AccountApi Api => harness.AsOwner("account-2");

    [Fact]
    public async Task A_batch_creates_every_record_or_none()
    {
        var prefix = $"Batch {Guid.NewGuid():N}";
        using (var bad = await Api.SendAsync(HttpMethod.Post, "/api/clients/batch", new { items = new object[] { new { name = $"{prefix} 1" }, new { name = 5 } } }))
        {
            Assert.Equal("items.1.name", await AccountApi.ProblemFieldAsync(bad, HttpStatusCode.BadRequest));
        }
        var page = await Api.GetJsonAsync("/api/clients?sort=-createdAt&limit=100");
        Assert.DoesNotContain(page.GetProperty("items").EnumerateArray(), c => c.GetProperty("name").GetString()!.StartsWith(prefix, StringComparison.Ordinal));

        using var good = await Api.SendAsync(HttpMethod.Post, "/api/clients/batch", new { items = new[] { new { name = $"{prefix} 1" }, new { name = $"{prefix} 2" } } });
        var created = await AccountApi.ReadAsync(good, HttpStatusCode.Created);
        Assert.Equal(2, created.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("{\"items\": []}", "items")]
    [InlineData("{\"items\": 3}", "items")]
    [InlineData("{\"items\": [7]}", "items.0")]
    [InlineData("{\"items\": [{\"clientId\": \"00000000-0000-4000-8000-000000000000\", \"name\": \"x\", \"relationship\": \"child\"}]}", "items.0.clientId")]
    public async Task Bad_batches_get_400_naming_the_item(string json, string field)
    {
        using var response = await Api.SendRawAsync(HttpMethod.Post, "/api/dependants/batch", json);
        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task An_oversized_batch_is_refused()
    {
        var items = Enumerable.Range(0, 101).Select(i => new { name = $"Too many {i}" }).ToArray();
        using var response = await Api.SendAsync(HttpMethod.Post, "/api/clients/batch", new { items });
        Assert.Equal("items", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Generated_data_loads_through_the_platform_and_every_record_is_there()
    {
        var data = new SeedDataGenerator(2026).Generate(new SeedSize(30));
        var token = harness.Tokens.Issue("account-2", harness.Owners["account-2"], TimeSpan.FromMinutes(10));
        var loader = new SeedLoader(harness.Http, new Uri(harness.PlatformUrl, "/accounts/account-2/"), token);

        var ids = await loader.LoadAsync(data, progress: null, CancellationToken.None);

        // Every record the loader says it made is in the account: each one read back through the API.
        foreach (var (entity, records) in data.Entities)
        {
            Assert.Equal(records.Count, ids[entity].Count);
            Assert.Equal(records.Count, ids[entity].Distinct().Count());
            foreach (var id in ids[entity])
            {
                using var read = await Api.SendAsync(HttpMethod.Get, $"/api/{entity}/{id}");
                Assert.True(read.StatusCode == HttpStatusCode.OK, $"{entity} {id}: {(int)read.StatusCode}");
            }
        }
        Assert.Equal(data.Documents.Count, ids["documents"].Count);
        var firstDocument = await Api.GetJsonAsync($"/api/documents/{ids["documents"][0]}");
        Assert.Equal(data.Documents[0].Bytes.Length, firstDocument.GetProperty("size").GetInt32());
    }
}
