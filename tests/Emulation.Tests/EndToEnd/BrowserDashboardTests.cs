using Emulation.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Emulation.Tests.EndToEnd;

/// <summary>A harness with the Aspire dashboard on, as `dotnet run --project AppHost` has (on ports the test host picks).</summary>
public sealed class DashboardHarnessFixture : HarnessFixture
{
    protected override bool Dashboard => true;

    // The test is about the dashboard's rows and commands; the telemetry tests cover its signals.
    protected override Task<string[]> ExtraArgumentsAsync() => Task.FromResult<string[]>(["--telemetry", "false"]);

    /// <summary>The dashboard's sign-in link (with its browser token), once the dashboard runs.</summary>
    public async Task<string> LoginUrlAsync()
    {
        using var started = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var dashboard = await App.ResourceNotifications.WaitForResourceAsync("aspire-dashboard", e => e.Snapshot.State?.Text == "Running"
            && e.Snapshot.Urls.Any(u => u.Url.Contains("/login?t=", StringComparison.Ordinal)), started.Token);
        return dashboard.Snapshot.Urls.First(u => u.Url.Contains("/login?t=", StringComparison.Ordinal)).Url;
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardHarnessCollection : ICollectionFixture<DashboardHarnessFixture>
{
    public const string Name = "dashboard harness";
}

/// <summary>
/// The Aspire dashboard itself, driven in a browser (issue 19): the account rows are there, "Seed demo
/// data" runs from a row's menu (with its confirmation), and the seeded clients then show in that
/// tenant's web app.
/// </summary>
[Collection(DashboardHarnessCollection.Name)]
public sealed class BrowserDashboardTests(DashboardHarnessFixture harness, Browser browser) : IClassFixture<Browser>
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public Task Seed_demo_data_run_from_the_dashboard_fills_the_tenants_web_app() => browser.RunAsync(nameof(Seed_demo_data_run_from_the_dashboard_fills_the_tenants_web_app), async (_, page) =>
    {
        await page.GotoAsync(await harness.LoginUrlAsync());
        foreach (var account in HarnessFixture.Accounts)
        {
            await Assertions.Expect(page.Locator($"td[aria-label='Worker: {account}']")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        }
        var owner = harness.AsOwner("account-1");
        Assert.Empty(await owner.ListIdsAsync("clients"));

        var row = page.Locator("tr", new() { Has = page.Locator("td[aria-label='Worker: account-1']") });
        await row.GetByRole(AriaRole.Button, new() { Name = "Actions" }).ClickAsync();
        await page.GetByRole(AriaRole.Menuitem, new() { Name = "Commands", Exact = true }).HoverAsync();
        await page.GetByRole(AriaRole.Menuitem, new() { Name = "Seed demo data", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByText("Add 200 demo clients (and their records) to this account?")).ToBeVisibleAsync();
        // Fluent UI's dialog buttons are custom elements, not role=button to the accessibility tree.
        await page.Locator("fluent-button").Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex(@"^\s*Yes\s*$") }).ClickAsync();

        // The command runs in the AppHost: the clients arrive in the account's D1.
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            while ((await owner.ListAllIdsAsync("clients")).Count < 200)
            {
                await Task.Delay(500, wait.Token);
            }
        }
        Assert.Equal(200, (await owner.ListAllIdsAsync("clients")).Count);
        Assert.Empty(await harness.AsOwner("account-2").ListIdsAsync("clients"));

        // The tenant's web app shows them.
        var ownerId = harness.Owners["account-1"];
        var email = (await owner.GetJsonAsync($"/api/users/{ownerId}")).GetProperty("email").GetString()!;
        using (var set = await owner.SendAsync(HttpMethod.Put, $"/api/users/{ownerId}/password", new { password = Password }))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, set.StatusCode);
        }
        var first = (await owner.GetJsonAsync("/api/clients?sort=name&limit=1")).GetProperty("items")[0].GetProperty("name").GetString()!;
        var host = $"http://account-1.localhost:{harness.PlatformUrl.Port}/";
        await page.GotoAsync(host + "sign-in");
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator("table tbody tr")).ToHaveCountAsync(25);
        await Assertions.Expect(page.Locator("table tbody tr").First).ToContainTextAsync(first);
    });
}
