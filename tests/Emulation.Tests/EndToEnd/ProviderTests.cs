using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Marketplace providers in the shared D1: admin CRUD and lookup by category and region.</summary>
[Collection(HarnessCollection.Name)]
public sealed class ProviderTests(HarnessFixture harness)
{
    private Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, object? body = null) => harness.AdminAsync(method, path, body);

    [Fact]
    public async Task Providers_are_created_found_by_category_and_region_changed_and_deleted()
    {
        var name = $"Pension Co {Guid.NewGuid():N}";
        using var created = await AdminAsync(HttpMethod.Post, "/admin/providers", new { name, category = "pensions", region = "uk" });
        var id = (await AccountApi.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetString()!;
        await AdminAsync(HttpMethod.Post, "/admin/providers", new { name = "Elsewhere", category = "pensions", region = "eu" });

        var found = await harness.Http.GetFromJsonAsync<JsonElement>(new Uri(harness.PlatformUrl, "/providers?category=pensions&region=uk"));
        var items = found.GetProperty("items").EnumerateArray().ToList();
        Assert.Contains(items, p => p.GetProperty("id").GetString() == id);
        Assert.All(items, p => Assert.Equal("uk", p.GetProperty("region").GetString()));

        using (var changed = await AdminAsync(HttpMethod.Put, $"/admin/providers/{id}", new { name, category = "banking", region = "uk" }))
        {
            Assert.Equal("banking", (await AccountApi.ReadAsync(changed, HttpStatusCode.OK)).GetProperty("category").GetString());
        }
        using (var deleted = await AdminAsync(HttpMethod.Delete, $"/admin/providers/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        using var gone = await AdminAsync(HttpMethod.Get, $"/admin/providers/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData("{\"name\": \"X\", \"category\": \"crypto\", \"region\": \"uk\"}", "category")]
    [InlineData("{\"name\": \"X\", \"category\": \"banking\", \"region\": \"us\"}", "region")]
    [InlineData("{\"category\": \"banking\", \"region\": \"uk\"}", "name")]
    public async Task Bad_providers_get_400_naming_the_field(string json, string field)
    {
        using var response = await AdminAsync(HttpMethod.Post, "/admin/providers", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task An_unknown_category_in_a_lookup_gets_400()
    {
        using var response = await harness.Http.GetAsync(new Uri(harness.PlatformUrl, "/providers?category=crypto"));
        Assert.Equal("category", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }
}
