using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Emulation.Tests.Infrastructure;

/// <summary>Calls one account's API through the platform router with a bearer token, as a user's browser would.</summary>
public sealed class AccountApi(HttpClient http, Uri platformUrl, string account, string? token)
{
    /// <summary>Cloudflare's convention for D1 session bookmarks between requests.</summary>
    public const string BookmarkHeader = "x-d1-bookmark";

    public string Account => account;

    /// <summary>The D1 bookmark a response carries (null when it has none).</summary>
    public static string? BookmarkOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(BookmarkHeader, out var values) ? values.FirstOrDefault() : null;

    public Uri Url(string path) => new(platformUrl, $"/accounts/{account}{path}");

    public AccountApi WithToken(string? other) => new(http, platformUrl, account, other);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? ifMatch = null, HttpContent? content = null,
        string? bookmark = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, Url(path));
        if (bookmark is not null)
        {
            request.Headers.TryAddWithoutValidation(BookmarkHeader, bookmark);
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        request.Content = content ?? (body is null ? null : JsonContent.Create(body));
        return await http.SendAsync(request, cancellationToken);
    }

    /// <summary>Sends a raw string as the JSON body.</summary>
    public Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, string json) =>
        SendAsync(method, path, content: new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    /// <summary>Creates a record and returns it; fails the test unless the API answered 201.</summary>
    public async Task<JsonElement> CreateAsync(string entity, object body)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/api/{entity}", body);
        return await ReadAsync(response, HttpStatusCode.Created);
    }

    public async Task<string> CreateIdAsync(string entity, object body) => (await CreateAsync(entity, body)).GetProperty("id").GetString()!;

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await SendAsync(HttpMethod.Get, path);
        return await ReadAsync(response, HttpStatusCode.OK);
    }

    public async Task<IReadOnlyList<string>> ListIdsAsync(string entity, string query = "")
    {
        var page = await GetJsonAsync($"/api/{entity}{(query.Length > 0 ? "?" + query : "")}");
        return [.. page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()!)];
    }

    /// <summary>Every id a list returns, following the cursor through all pages.</summary>
    public async Task<IReadOnlyList<string>> ListAllIdsAsync(string entity, string query = "")
    {
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var parameters = string.Join('&', new[] { query, "limit=100", cursor is null ? "" : "cursor=" + cursor }.Where(p => p.Length > 0));
            var page = await GetJsonAsync($"/api/{entity}?{parameters}");
            ids.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return ids;
    }

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts a 4xx problem response and returns the field it names.</summary>
    public static async Task<string?> ProblemFieldAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await ReadAsync(response, expected);
        return body.TryGetProperty("field", out var field) ? field.GetString() : null;
    }
}
