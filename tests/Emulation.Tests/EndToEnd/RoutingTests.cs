using System.Net;
using System.Net.Http.Headers;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>The platform routes by path, by tenant host and by token — and only with a token for that tenant.</summary>
[Collection(HarnessCollection.Name)]
public sealed class RoutingTests(HarnessFixture harness)
{
    private async Task<HttpResponseMessage> SendAsync(string path, string? host, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, path));
        if (host is not null)
        {
            request.Headers.Host = $"{host}:{harness.PlatformUrl.Port}";
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await harness.Http.SendAsync(request);
    }

    private string Token(string account) => harness.Tokens.Issue(account, harness.Owners[account], TimeSpan.FromMinutes(5));

    [Fact]
    public async Task A_tenant_host_reaches_that_tenant()
    {
        var id = await harness.AsOwner("account-1").CreateIdAsync("clients", new { name = "Found by host" });
        using var response = await SendAsync($"/api/clients/{id}", "account-1.localhost", Token("account-1"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var other = await SendAsync($"/api/clients/{id}", "account-2.localhost", Token("account-2"));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Theory]
    [InlineData("ACCOUNT-1.localhost")]
    [InlineData("account-1.localhost.")]
    [InlineData("Account-1.LocalHost.")]
    public async Task A_tenant_host_is_matched_as_DNS_matches_it(string host)
    {
        using var response = await SendAsync("/api/clients?limit=1", host, Token("account-1"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The same host with another tenant's token is still that tenant's: refused, not routed by token.
        using var other = await SendAsync("/api/clients?limit=1", host, Token("account-2"));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
    }

    [Theory]
    [InlineData("account-2.localhost.evil")]
    [InlineData("x.account-2.localhost")]
    [InlineData("account-2-.localhost")]
    [InlineData("evil.example")]
    public async Task A_host_that_names_no_tenant_is_404_and_never_routed_by_token(string host)
    {
        using var response = await SendAsync("/api/clients?limit=1", host, Token("account-2"));
        Assert.Equal("host", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task A_token_alone_routes_to_the_account_it_is_for()
    {
        var id = await harness.AsOwner("account-2").CreateIdAsync("clients", new { name = "Found by token" });
        using var response = await SendAsync($"/api/clients/{id}", host: null, Token("account-2"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/accounts/account-2/api/clients", null)]
    [InlineData("/api/clients", "account-2.localhost")]
    public async Task A_token_for_A_never_reaches_B(string path, string? host)
    {
        using var response = await SendAsync(path, host, Token("account-1"));
        var body = await AccountApi.ReadAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("token is for another account", body.GetProperty("message").GetString()!.Split(": ", 2)[1]);
    }

    [Theory]
    [InlineData("{\"country\":\"GB\"}", HttpStatusCode.OK)]
    [InlineData("{\"country\":\"FR\"}", HttpStatusCode.UnavailableForLegalReasons)]
    [InlineData("{\"country\":\"US\"}", HttpStatusCode.UnavailableForLegalReasons)]
    [InlineData("{}", HttpStatusCode.UnavailableForLegalReasons)]
    public async Task Only_users_in_the_UK_get_in(string cf, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, "/accounts/account-1/api/clients"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token("account-1"));
        // How a local request says where it comes from (Miniflare): the whole request.cf object.
        request.Headers.Add("MF-CF-Blob", cf);
        using var response = await harness.Http.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        if (expected != HttpStatusCode.OK)
        {
            Assert.Equal("country", await AccountApi.ProblemFieldAsync(response, expected));
        }
    }

    [Fact]
    public async Task The_platform_issues_tokens_only_for_active_users_of_that_account()
    {
        var admin = new Cloudflare.Emulation.Platform.PlatformAdminClient(harness.Http, Cloudflare.Emulation.Platform.PlatformSecrets.LoadOrCreateAdminToken(harness.StateRoot));
        var token = await admin.IssueTokenAsync(harness.PlatformUrl, "account-1", harness.Owners["account-1"], TimeSpan.FromMinutes(5), CancellationToken.None);
        using (var response = await SendAsync("/api/clients", host: null, token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // account-2's owner is not a user of account-1: no token.
        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            admin.IssueTokenAsync(harness.PlatformUrl, "account-1", harness.Owners["account-2"], TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.Contains("400", error.Message, StringComparison.Ordinal);
        Assert.Contains("userId", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/accounts/account-1/api/clients", null)]
    [InlineData("/api/clients", "account-1.localhost")]
    [InlineData("/api/clients", null)]
    public async Task No_token_gets_401_at_the_platform(string path, string? host)
    {
        using var response = await SendAsync(path, host, token: null);
        Assert.Equal("authorization", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.Unauthorized));
    }
}
