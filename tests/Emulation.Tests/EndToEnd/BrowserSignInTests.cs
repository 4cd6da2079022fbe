using Emulation.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Signing in and out in a real browser (issue 19): Chromium on a tenant's own host name, the session
/// cookie as the browser keeps it, another tenant's host, and an accessibility scan of each page.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class BrowserSignInTests(HarnessFixture harness, Browser browser) : IClassFixture<Browser>
{
    private const string Password = "correct horse battery staple";

    /// <summary>A tenant's host as a browser reaches it: &lt;slug&gt;.localhost resolves to this machine.</summary>
    private string Host(string account, string path = "/") => $"http://{account}.localhost:{harness.PlatformUrl.Port}{path}";

    private async Task<string> UserWithPasswordAsync(string account)
    {
        var email = $"adviser-{Guid.NewGuid():N}@example.com";
        var id = await harness.AsOwner(account).CreateIdAsync("users", new { email, name = "Ada Adviser", role = "staff" });
        using var set = await harness.AsOwner(account).SendAsync(HttpMethod.Put, $"/api/users/{id}/password", new { password = Password });
        Assert.Equal(System.Net.HttpStatusCode.NoContent, set.StatusCode);
        return email;
    }



    private static async Task<string[]> ClientNamesAsync(IPage page) =>
        [.. await page.Locator("table tbody tr td:first-child").AllInnerTextsAsync()];

    [Fact]
    public Task The_clients_list_filters_sorts_and_pages_as_the_API_does_and_shows_a_bad_setting_next_to_its_field() => browser.RunAsync(nameof(The_clients_list_filters_sorts_and_pages_as_the_API_does_and_shows_a_bad_setting_next_to_its_field), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-list");
        var email = (await account.Api.GetJsonAsync($"/api/users/{account.OwnerId}")).GetProperty("email").GetString()!;
        using (var set = await account.Api.SendAsync(HttpMethod.Put, $"/api/users/{account.OwnerId}/password", new { password = Password }))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, set.StatusCode);
        }
        await account.Api.CreateIdAsync("clients", new { name = "Alice Archived", status = "archived" });
        var active = Enumerable.Range(1, 11).Select(i => new { name = $"Client {i:00}", status = "active" }).ToArray();
        using (var batch = await account.Api.SendAsync(HttpMethod.Post, "/api/clients/batch", new { items = active }))
        {
            Assert.True(batch.IsSuccessStatusCode, await batch.Content.ReadAsStringAsync());
        }
        var host = Host(account.Slug);
        await Browser.SignInAsync(page, host, email, Password);
        string[] everyone = ["Alice Archived", .. active.Select(c => c.name)];
        Assert.Equal(everyone, await ClientNamesAsync(page));
        await Browser.AssertAccessibleAsync(page);

        await page.GetByLabel("Status").SelectOptionAsync("active");
        await page.GetByLabel("Order").SelectOptionAsync("-name");
        await page.GetByLabel("Per page").SelectOptionAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        var firstPage = await ClientNamesAsync(page);
        Assert.Equal(active.Select(c => c.name).Reverse().Take(10), firstPage);
        await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).ClickAsync();
        var secondPage = await ClientNamesAsync(page);
        Assert.Equal(["Client 01"], secondPage);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Next page" })).ToHaveCountAsync(0);

        // The search: names that start with what was typed, as written, in name order.
        await page.GotoAsync(host);
        await page.GetByLabel("Name starts with").FillAsync("Client 1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        Assert.Equal(["Client 10", "Client 11"], await ClientNamesAsync(page));
        await page.GetByLabel("Name starts with").FillAsync("client 1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No clients match.")).ToBeVisibleAsync();

        // A setting the list does not have: a page (not JSON), the message next to the field.
        var response = await page.GotoAsync(host + "?sort=shoeSize");
        Assert.Equal(400, response!.Status);
        await Assertions.Expect(page.Locator("#sort-error")).ToContainTextAsync("sort");
        await Browser.AssertAccessibleAsync(page);
    });

    [Fact]
    public Task A_tenant_on_its_own_domain_signs_in_there_and_the_session_stays_on_that_domain() => browser.RunAsync(nameof(A_tenant_on_its_own_domain_signs_in_there_and_the_session_stays_on_that_domain), async (context, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-domain");
        var domain = $"web-{Guid.NewGuid():N}"[..16] + "." + Browser.CustomDomainSuffix;
        using (var added = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{account.Slug}/domains", new { hostname = domain }))
        {
            var id = (await AccountApi.ReadAsync(added, System.Net.HttpStatusCode.Created)).GetProperty("id").GetString()!;
            var (verified, _) = await harness.CloudflareAsync(HttpMethod.Post, $"__emulator/zones/{harness.ControlPlane.ZoneId}/custom_hostnames/{id}/verify");
            Assert.Equal(System.Net.HttpStatusCode.OK, verified);
        }
        // The platform learns the domain is active when it next asks Cloudflare: its domains list asks.
        using (var listed = await harness.AdminAsync(HttpMethod.Get, $"/admin/accounts/{account.Slug}/domains"))
        {
            Assert.Contains("\"active\"", await listed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var email = (await account.Api.GetJsonAsync($"/api/users/{account.OwnerId}")).GetProperty("email").GetString()!;
        using (var set = await account.Api.SendAsync(HttpMethod.Put, $"/api/users/{account.OwnerId}/password", new { password = Password }))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, set.StatusCode);
        }
        var onDomain = $"http://{domain}:{harness.PlatformUrl.Port}/";
        await page.GotoAsync(onDomain);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading)).ToHaveTextAsync($"Sign in to {account.Slug}");
        await Browser.SignInAsync(page, onDomain, email, Password);
        var session = Assert.Single(await context.CookiesAsync(), c => c.Name == "session");
        Assert.Equal(domain, session.Domain);
        // The tenant's own <slug> host is another site to the browser: no session there.
        await page.GotoAsync(Host(account.Slug));
        Assert.EndsWith("/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
    });

    [Fact]
    public Task The_dashboards_account_row_links_the_accounts_web_app() => browser.RunAsync(nameof(The_dashboards_account_row_links_the_accounts_web_app), async (_, page) =>
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var row = await harness.App.ResourceNotifications.WaitForResourceAsync("account-2", e => e.Snapshot.Urls.Any(u => u.Name == "web app"), wait.Token);
        var webApp = row.Snapshot.Urls.Single(u => u.Name == "web app").Url;
        Assert.Equal(Host("account-2"), webApp);
        await page.GotoAsync(webApp);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading)).ToHaveTextAsync("Sign in to account-2");
    });

    [Fact]
    public Task A_browser_signs_in_sees_its_tenant_keeps_the_cookie_to_that_host_and_signs_out() => browser.RunAsync(nameof(A_browser_signs_in_sees_its_tenant_keeps_the_cookie_to_that_host_and_signs_out), async (context, page) =>
    {
        var email = await UserWithPasswordAsync("account-1");

        // Not signed in: the app sends the browser to the form.
        await page.GotoAsync(Host("account-1"));
        Assert.EndsWith("/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        await Browser.AssertAccessibleAsync(page);

        // A wrong password: the form again, with the one answer, next to the form.
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync("not the password!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("do not match");
        await Browser.AssertAccessibleAsync(page);

        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Signed in as")).ToContainTextAsync("Ada Adviser");
        await Browser.AssertAccessibleAsync(page);

        var session = Assert.Single(await context.CookiesAsync(), c => c.Name == "session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.Equal("account-1.localhost", session.Domain);
        Assert.Empty(await context.CookiesAsync([Host("account-2")]));
        Assert.Null(await page.EvaluateAsync<string?>("() => document.cookie.includes('session') ? 'visible' : null"));

        // Another tenant's host: its sign-in form, none of its data.
        await page.GotoAsync(Host("account-2"));
        Assert.EndsWith("/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading)).ToHaveTextAsync("Sign in to account-2");

        // Signing out ends it here.
        await page.GotoAsync(Host("account-1"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        Assert.EndsWith("/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "session");
        await page.GotoAsync(Host("account-1"));
        Assert.EndsWith("/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
    });
}
