using System.Net.Http.Json;
using System.Text.Json;

namespace Emulation.Tests.Infrastructure;

/// <summary>Calls an account's API through the platform router, as a user's browser would.</summary>
internal sealed class AccountApi(HttpClient http, Uri platformUrl, string account)
{
    private Uri Url(string path) => new(platformUrl, $"/accounts/{account}{path}");

    public Task<HttpResponseMessage> CreateClientAsync(object body) => http.PostAsJsonAsync(Url("/api/clients"), body);

    public async Task<string> CreateClientIdAsync(string name)
    {
        using var response = await CreateClientAsync(new { name });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        return created.GetProperty("id").GetString()!;
    }

    public Task<HttpResponseMessage> GetClientAsync(string id) => http.GetAsync(Url($"/api/clients/{id}"));

    public async Task<IReadOnlyList<string>> ListClientIdsAsync()
    {
        var list = await http.GetFromJsonAsync<JsonElement>(Url("/api/clients?limit=100"));
        return [.. list.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()!)];
    }
}
