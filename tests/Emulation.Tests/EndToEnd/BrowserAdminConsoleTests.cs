using Cloudflare.Emulation.Platform;
using Emulation.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// The platform's admin page in a real browser (issue 19): behind the admin token, the accounts with
/// their status, routing metadata and domains; sign up, resume and delete an account; add a provider.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class BrowserAdminConsoleTests(HarnessFixture harness, Browser browser) : IClassFixture<Browser>
{

    [Fact]
    public Task An_administrator_signs_in_with_the_token_and_signs_up_resumes_and_deletes_an_account() => browser.RunAsync(nameof(An_administrator_signs_in_with_the_token_and_signs_up_resumes_and_deletes_an_account), async (context, page) =>
    {
        var console = new Uri(harness.PlatformUrl, "/console").ToString();
        await page.GotoAsync(console);
        Assert.EndsWith("/console/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        await Browser.AssertAccessibleAsync(page);
        await page.GetByLabel("Admin token").FillAsync("not the token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not the platform's admin token");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "admin");

        await page.GetByLabel("Admin token").FillAsync(PlatformSecrets.LoadOrCreateAdminToken(harness.StateRoot));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Platform admin");
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "admin");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("/console", cookie.Path);
        var row = page.Locator("tbody tr", new() { HasText = "account-1" });
        await Assertions.Expect(row).ToContainTextAsync("active");
        await Assertions.Expect(row).ToContainTextAsync("https://acct-account-1.emulator.workers.dev");
        await Assertions.Expect(row).ToContainTextAsync("R2 acct-account-1-documents (eu)");
        await Browser.AssertAccessibleAsync(page);

        // A slug the API refuses: its message next to the field.
        await page.GetByLabel("Slug (its host name)").FillAsync("Not A Slug!");
        await page.GetByLabel("Firm's name").FillAsync("Bad Slug Ltd");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).ClickAsync();
        await Assertions.Expect(page.Locator("#slug-error")).ToContainTextAsync("slug");

        var slug = $"console-{Guid.NewGuid():N}"[..16];
        await page.GetByLabel("Slug (its host name)").FillAsync(slug);
        await page.GetByLabel("Firm's name").FillAsync("Console Advisers");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("The account was signed up.", new() { Timeout = 60_000 });
        var created = page.Locator("tbody tr", new() { HasText = slug });
        await Assertions.Expect(created).ToContainTextAsync("active");

        await created.GetByRole(AriaRole.Button, new() { Name = $"Resume {slug}" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"{slug}: provisioning resumed.", new() { Timeout = 60_000 });

        await page.Locator("tbody tr", new() { HasText = slug }).GetByLabel($"delete {slug} and all its data").CheckAsync();
        await page.Locator("tbody tr", new() { HasText = slug }).GetByRole(AriaRole.Button, new() { Name = $"Delete {slug}" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"{slug} was deleted.", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("tbody tr", new() { HasText = slug })).ToHaveCountAsync(0);
        using (var gone = await harness.AdminAsync(HttpMethod.Get, $"/admin/accounts/{slug}"))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        }

        // A website that is no web address (a script in a link): refused, the message next to the field.
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Scripted Bank");
        await page.GetByLabel("Website").FillAsync("javascript:alert(document.cookie)");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add provider" }).ClickAsync();
        await Assertions.Expect(page.Locator("#website-error")).ToContainTextAsync("website");
        await Assertions.Expect(page.Locator("li", new() { HasText = "Scripted Bank" })).ToHaveCountAsync(0);

        var provider = $"Console Bank {Guid.NewGuid():N}"[..20];
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(provider);
        await page.GetByLabel("Category").SelectOptionAsync("banking");
        await page.GetByLabel("Region").SelectOptionAsync("uk");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add provider" }).ClickAsync();
        await Assertions.Expect(page.Locator("li", new() { HasText = provider })).ToContainTextAsync("banking, uk");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GotoAsync(console);
        Assert.EndsWith("/console/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
    });
}
