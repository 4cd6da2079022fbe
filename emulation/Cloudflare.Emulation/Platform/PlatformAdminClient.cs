using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Cloudflare.Emulation.Platform;

/// <summary>Talks to the platform Worker's /admin API, as an operator would.</summary>
public sealed class PlatformAdminClient(HttpClient http, string adminToken)
{
    /// <summary>Signs an account up: the platform provisions it through the Cloudflare API.</summary>
    public Task<string> SignupAsync(Uri platformUrl, string slug, string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, new Uri(platformUrl, "/admin/accounts"), new { slug, name }, cancellationToken);

    /// <summary>The account's row as the platform has it, or null when there is none.</summary>
    public async Task<System.Text.Json.JsonElement?> GetAsync(Uri platformUrl, string slug, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(platformUrl, $"/admin/accounts/{Uri.EscapeDataString(slug)}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(cancellationToken);
    }

    /// <summary>Resumes a failed or interrupted provisioning.</summary>
    public Task<string> ResumeAsync(Uri platformUrl, string slug, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, new Uri(platformUrl, $"/admin/accounts/{Uri.EscapeDataString(slug)}/provision"), null, cancellationToken);

    /// <summary>A token for one of the account's users, issued by the platform.</summary>
    public async Task<string> IssueTokenAsync(Uri platformUrl, string slug, string userId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var json = await SendAsync(HttpMethod.Post, new Uri(platformUrl, $"/admin/accounts/{Uri.EscapeDataString(slug)}/tokens"),
            new { userId, ttlSeconds = (int)lifetime.TotalSeconds }, cancellationToken);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.GetProperty("token").GetString()!;
    }

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
}
