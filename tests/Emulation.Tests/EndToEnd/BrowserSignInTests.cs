using Deque.AxeCore.Playwright;
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

    private static async Task AssertAccessibleAsync(IPage page)
    {
        var result = await page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{page.Url}: " + string.Join("; ", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help}")));
    }

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
        await AssertAccessibleAsync(page);

        // A wrong password: the form again, with the one answer, next to the form.
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync("not the password!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("do not match");
        await AssertAccessibleAsync(page);

        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Signed in as")).ToContainTextAsync("Ada Adviser");
        await AssertAccessibleAsync(page);

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
