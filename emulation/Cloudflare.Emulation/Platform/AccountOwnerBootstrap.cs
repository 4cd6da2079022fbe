using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Cloudflare.Emulation.Platform;

/// <summary>
/// Gives a new account its first user, an owner, the way the platform does: with a service token on
/// the account Worker's /platform routes, which reach its users and nothing else.
/// </summary>
public sealed class AccountOwnerBootstrap(HttpClient http, TokenIssuer tokens)
{
    public static string OwnerEmail(string accountId) => $"owner@{accountId}.example.com";

    /// <summary>Returns the id of the account's owner, creating the owner if there is none yet.</summary>
    public async Task<string> EnsureOwnerAsync(Uri accountWorker, string accountId, CancellationToken cancellationToken)
    {
        var token = tokens.IssueService(accountId);
        if (await FindOwnerAsync(accountWorker, token, cancellationToken) is { } existing)
        {
            return existing;
        }
        using var create = Request(HttpMethod.Post, new Uri(accountWorker, "/platform/users"), token);
        create.Content = JsonContent.Create(new { email = OwnerEmail(accountId), name = "Account owner", role = "owner" });
        using var created = await http.SendAsync(create, cancellationToken);
        if (created.StatusCode == System.Net.HttpStatusCode.Conflict
            && await FindOwnerAsync(accountWorker, token, cancellationToken) is { } concurrent)
        {
            // Someone else bootstrapped the same account at the same moment: theirs is the owner.
            return concurrent;
        }
        await EnsureSuccessAsync(created, cancellationToken);
        return (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetString()!;
    }

    private async Task<string?> FindOwnerAsync(Uri accountWorker, string token, CancellationToken cancellationToken)
    {
        using var find = Request(HttpMethod.Get, new Uri(accountWorker, "/platform/users?role=owner&limit=1"), token);
        using var found = await http.SendAsync(find, cancellationToken);
        await EnsureSuccessAsync(found, cancellationToken);
        var page = await found.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return page.GetProperty("items").EnumerateArray().Select(o => o.GetProperty("id").GetString()).FirstOrDefault();
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri uri, string token)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}: {(int)response.StatusCode} {body}");
        }
    }
}
