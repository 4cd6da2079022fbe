using System.Net;
using System.Net.Http.Headers;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Signing in on a tenant's host as a browser does (issue 19): the account's Worker checks the
/// password against its own D1, the platform sets the session cookie — HttpOnly, SameSite=Strict, for
/// that host only — and routes the browser's requests with it; wrong answers all look alike and are
/// slowed down; another tenant's host does not take the cookie.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class SignInTests(HarnessFixture harness)
{
    private const string Password = "correct horse battery staple";

    /// <summary>A browser: no cookie jar, no redirects followed (the test reads them).</summary>
    private static readonly HttpClient Browser = new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private Task<HttpResponseMessage> SendAsync(string account, HttpMethod method, string path, string? cookie = null, HttpContent? content = null, bool sameOrigin = true, string accept = "text/html")
    {
        var request = new HttpRequestMessage(method, new Uri(harness.PlatformUrl, path)) { Content = content };
        request.Headers.Host = $"{account}.localhost:{harness.PlatformUrl.Port}";
        request.Headers.Accept.ParseAdd(accept);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        if (sameOrigin && method != HttpMethod.Get)
        {
            request.Headers.Add("Origin", $"http://{account}.localhost:{harness.PlatformUrl.Port}");
        }
        return Browser.SendAsync(request);
    }

    private Task<HttpResponseMessage> SignInAsync(string account, string email, string password, bool sameOrigin = true) =>
        SendAsync(account, HttpMethod.Post, "/sign-in", content: new FormUrlEncodedContent([new("email", email), new("password", password)]), sameOrigin: sameOrigin);

    /// <summary>A new user of the account with a password set by the owner; its e-mail address.</summary>
    private async Task<(string Id, string Email)> UserWithPasswordAsync(string account, string role)
    {
        var email = $"{role}-{Guid.NewGuid():N}@example.com";
        var id = await harness.AsOwner(account).CreateIdAsync("users", new { email, name = $"Ada {role}", role });
        using var set = await harness.AsOwner(account).SendAsync(HttpMethod.Put, $"/api/users/{id}/password", new { password = Password });
        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        return (id, email);
    }

    private static string SessionCookieOf(HttpResponseMessage response)
    {
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("session=", StringComparison.Ordinal));
        return setCookie.Split(';')[0];
    }

    [Fact]
    public async Task A_user_signs_in_with_the_password_and_the_session_works_on_that_host_only_until_signed_out()
    {
        var (_, email) = await UserWithPasswordAsync("account-1", "staff");
        using var signedIn = await SignInAsync("account-1", email.ToUpperInvariant(), Password);
        Assert.Equal(HttpStatusCode.SeeOther, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("session=", StringComparison.Ordinal));
        // A new session reads afresh: an earlier session's bookmark is forgotten.
        Assert.Contains(signedIn.Headers.GetValues("Set-Cookie"), c => System.Text.RegularExpressions.Regex.IsMatch(c, "^d1-bookmark=;.*Max-Age=0.*Path=/"));
        Assert.Contains("HttpOnly", setCookie, StringComparison.Ordinal);
        Assert.Contains("SameSite=Strict", setCookie, StringComparison.Ordinal);
        Assert.Contains("Path=/", setCookie, StringComparison.Ordinal);
        Assert.DoesNotContain("Domain=", setCookie, StringComparison.OrdinalIgnoreCase);
        var cookie = SessionCookieOf(signedIn);

        using var home = await SendAsync("account-1", HttpMethod.Get, "/", cookie);
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal("text/html", home.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Ada staff", await home.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The API takes the session too; a change must come from the host's own pages.
        var client = JsonContent(new { name = "Cookie Client", status = "prospect" });
        using (var forged = await SendAsync("account-1", HttpMethod.Post, "/api/clients", cookie, client, sameOrigin: false, accept: "application/json"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            Assert.Equal("origin", await AccountApi.ProblemFieldAsync(forged, HttpStatusCode.Forbidden));
        }
        using (var created = await SendAsync("account-1", HttpMethod.Post, "/api/clients", cookie, JsonContent(new { name = "Cookie Client", status = "prospect" }), accept: "application/json"))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            // The write's D1 bookmark stays with the browser, so its next page reads what it wrote.
            Assert.Contains(created.Headers.GetValues("Set-Cookie"), c => c.StartsWith("d1-bookmark=", StringComparison.Ordinal)
                && c.Contains("HttpOnly", StringComparison.Ordinal) && c.Contains("SameSite=Strict", StringComparison.Ordinal));
        }

        // Another tenant's host: its pages send the browser to its own sign-in form, its API refuses.
        using (var otherPage = await SendAsync("account-2", HttpMethod.Get, "/", cookie))
        {
            Assert.Equal(HttpStatusCode.SeeOther, otherPage.StatusCode);
            Assert.Equal("/sign-in", otherPage.Headers.Location?.OriginalString);
        }
        using (var otherApi = await SendAsync("account-2", HttpMethod.Get, "/api/clients", cookie, accept: "application/json"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherApi.StatusCode);
        }

        using var signedOut = await SendAsync("account-1", HttpMethod.Post, "/sign-out", cookie);
        Assert.Equal(HttpStatusCode.SeeOther, signedOut.StatusCode);
        var cleared = signedOut.Headers.GetValues("Set-Cookie").ToList();
        Assert.Contains(cleared, c => System.Text.RegularExpressions.Regex.IsMatch(c, "^session=;.*Max-Age=0"));
        Assert.Contains(cleared, c => System.Text.RegularExpressions.Regex.IsMatch(c, "^d1-bookmark=;.*Max-Age=0"));

        // The session ended on the server too: a copy of the cookie kept from before is worth nothing.
        using (var replayedPage = await SendAsync("account-1", HttpMethod.Get, "/", cookie))
        {
            Assert.Equal(HttpStatusCode.SeeOther, replayedPage.StatusCode);
            Assert.Equal("/sign-in", replayedPage.Headers.Location?.OriginalString);
        }
        using (var replayedApi = await SendAsync("account-1", HttpMethod.Get, "/api/clients", cookie, accept: "application/json"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replayedApi.StatusCode);
            Assert.Contains("signed out", await replayedApi.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_session_works_on_its_tenants_host_only_and_a_bookmark_the_database_refuses_is_forgotten()
    {
        var (_, email) = await UserWithPasswordAsync("account-1", "admin");
        using var signedIn = await SignInAsync("account-1", email, Password);
        var cookie = SessionCookieOf(signedIn);

        // The session's token as a Bearer on the platform's own /domains: refused (sign-out could not end it there).
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, "/domains")))
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", cookie["session=".Length..]);
            using var refused = await Browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("browser session", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A bookmark cookie the account's D1 refuses: the 400 says so and the browser forgets it.
        using var answer = await SendAsync("account-1", HttpMethod.Get, "/api/clients", $"{cookie}; d1-bookmark=not-a-bookmark", accept: "application/json");
        Assert.Equal("x-d1-bookmark", await AccountApi.ProblemFieldAsync(answer, HttpStatusCode.BadRequest));
        Assert.Contains(answer.Headers.GetValues("Set-Cookie"), c => c.StartsWith("d1-bookmark=;", StringComparison.Ordinal) && c.Contains("Max-Age=0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_wrong_answer_looks_the_same_and_repeated_failures_are_slowed_for_any_address()
    {
        var (_, email) = await UserWithPasswordAsync("account-1", "readonly");
        var answers = new List<(HttpStatusCode, string)>();
        foreach (var (address, password) in new[] { (email, "wrong password!!"), ($"nobody-{Guid.NewGuid():N}@example.com", Password) })
        {
            using var response = await SignInAsync("account-1", address, password);
            var page = await response.Content.ReadAsStringAsync();
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.False(response.Headers.Contains("Set-Cookie"));
            answers.Add((response.StatusCode, page.Split("role=\"alert\"")[1].Split("</p>")[0]));
        }
        Assert.Equal(answers[0], answers[1]);
        Assert.Equal(HttpStatusCode.Unauthorized, answers[0].Item1);

        // Five failures are free; the sixth must wait — for an address nobody has as well.
        var unknown = $"nobody-{Guid.NewGuid():N}@example.com";
        for (var i = 0; i < 5; i++)
        {
            using var wrong = await SignInAsync("account-1", unknown, "wrong password!!");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }
        using var slowed = await SignInAsync("account-1", unknown, "wrong password!!");
        Assert.Equal((HttpStatusCode)429, slowed.StatusCode);
        Assert.Contains("Too many failed sign-ins", await slowed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A form posted from another site signs nobody in.
        using var crossSite = await SignInAsync("account-1", email, Password, sameOrigin: false);
        Assert.Equal(HttpStatusCode.Forbidden, crossSite.StatusCode);
        Assert.False(crossSite.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Users_set_their_own_password_and_only_administrators_set_anothers()
    {
        var (readonlyId, _) = await harness.UserAsync("account-1", "readonly");
        var (_, staffApi) = await harness.UserAsync("account-1", "staff");
        using (var refused = await staffApi.SendAsync(HttpMethod.Put, $"/api/users/{readonlyId}/password", new { password = Password }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using (var tooShort = await harness.AsOwner("account-1").SendAsync(HttpMethod.Put, $"/api/users/{readonlyId}/password", new { password = "short" }))
        {
            Assert.Equal("password", await AccountApi.ProblemFieldAsync(tooShort, HttpStatusCode.BadRequest));
        }
        var (staffId, _) = await harness.UserAsync("account-1", "staff");
        using var own = await harness.As("account-1", staffId).SendAsync(HttpMethod.Put, $"/api/users/{staffId}/password", new { password = Password });
        Assert.Equal(HttpStatusCode.NoContent, own.StatusCode);
        // A user of another account is no user here.
        using var stranger = await harness.AsOwner("account-2").SendAsync(HttpMethod.Put, $"/api/users/{staffId}/password", new { password = Password });
        Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
}
