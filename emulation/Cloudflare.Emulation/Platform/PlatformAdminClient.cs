using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Cloudflare.Emulation.Platform;

/// <summary>Routing metadata the platform keeps on an account row (the seed's Worker URL and db_shard_id).</summary>
public sealed record AccountRouting(string WorkerUrl, string DbShardId, string R2Bucket, string Jurisdiction = "eu");

/// <summary>Talks to the platform Worker's /admin API, as an operator would.</summary>
public sealed class PlatformAdminClient(HttpClient http, string adminToken)
{
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
