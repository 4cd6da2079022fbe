using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Cloudflare.Emulation.Platform;

/// <summary>Routing metadata the platform keeps on an account row (the seed's Worker URL and db_shard_id).</summary>
public sealed record AccountRouting(string WorkerUrl, string DbShardId, string R2Bucket, string Jurisdiction = "eu");

/// <summary>Talks to the platform Worker's /admin API, as an operator would.</summary>
public sealed class PlatformAdminClient(HttpClient http, string adminToken)
{
    /// <summary>Signs an account up: the platform provisions it through the Cloudflare API.</summary>
    public Task<string> SignupAsync(Uri platformUrl, string slug, string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, new Uri(platformUrl, "/admin/accounts"), new { slug, name }, cancellationToken);

    /// <summary>Deprovisions an account completely.</summary>
    public Task<string> DeleteAsync(Uri platformUrl, string slug, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, new Uri(platformUrl, $"/admin/accounts/{Uri.EscapeDataString(slug)}"), null, cancellationToken);

    /// <summary>The slugs of every account the platform knows.</summary>
    public async Task<IReadOnlyList<string>> ListSlugsAsync(Uri platformUrl, CancellationToken cancellationToken)
    {
        var json = await SendAsync(HttpMethod.Get, new Uri(platformUrl, "/admin/accounts"), null, cancellationToken);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return [.. document.RootElement.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("slug").GetString()!)];
    }

    private async Task<string> SendAsync(HttpMethod method, Uri uri, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{method} {uri.AbsolutePath}: {(int)response.StatusCode} {text}");
        }
        return text;
    }

    public async Task RegisterAccountAsync(Uri platformUrl, string slug, string name, AccountRouting routing, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(platformUrl, $"/admin/accounts/{Uri.EscapeDataString(slug)}"))
        {
            Content = JsonContent.Create(new { name, status = "active", routing }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"Registering account '{slug}' failed: {(int)response.StatusCode} {body}");
        }
    }
}
