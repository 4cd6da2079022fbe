using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Emulation.Tests.Infrastructure;

/// <summary>
/// A real Chromium (Debian's `chromium` package, driven by Microsoft.Playwright) for the browser
/// tests, started once per collection. A missing browser fails the tests with how to install it.
/// Each test's page records a Playwright trace; a failing test leaves its trace and a screenshot in
/// TestResults/browser/ (open a trace with `pwsh bin/Debug/net10.0/playwright.ps1 show-trace`).
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    /// <summary>Where Debian installs Chromium; CHROMIUM_PATH points elsewhere.</summary>
    public const string DefaultChromium = "/usr/bin/chromium";

    /// <summary>Tenants' own domains in the tests end in this; the browser resolves them to this machine (no DNS here).</summary>
    public const string CustomDomainSuffix = "acme-advisers.co.uk";

    private IPlaywright? _playwright;

    public IBrowser Chromium { get; private set; } = null!;

    public static string ArtefactsDirectory { get; } = Path.Combine(RepositoryPaths.Root, "tests", "Emulation.Tests", "TestResults", "browser");

    public async Task InitializeAsync()
    {
        var path = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured ? configured : DefaultChromium;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"Chromium is not installed at {path}: the browser tests need it. Install Debian's package (sudo apt-get install -y chromium), " +
                "or set CHROMIUM_PATH to a Chromium executable. .ci/run installs it when it is missing.");
        }
        _playwright = await Playwright.CreateAsync();
        Chromium = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            // No sandbox: CI runs as root, where Chromium refuses its sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", $"--host-resolver-rules=MAP *.{CustomDomainSuffix} 127.0.0.1"],
        });
    }

    /// <summary>
    /// Runs a test on a page of its own (a fresh context: no cookies), recording a trace; when the test
    /// fails, its trace and a screenshot of the page are saved under <see cref="ArtefactsDirectory"/>.
    /// </summary>
    public async Task RunAsync(string test, Func<IBrowserContext, IPage, Task> body)
    {
        await using var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await context.Tracing.StartAsync(new TracingStartOptions { Screenshots = true, Snapshots = true });
        var page = await context.NewPageAsync();
        try
        {
            await body(context, page);
            await context.Tracing.StopAsync();
        }
        catch
        {
            Directory.CreateDirectory(ArtefactsDirectory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtefactsDirectory, $"{test}.png"), FullPage = true });
            await context.Tracing.StopAsync(new TracingStopOptions { Path = Path.Combine(ArtefactsDirectory, $"{test}.trace.zip") });
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (Chromium is not null)
        {
            await Chromium.CloseAsync();
        }
        _playwright?.Dispose();
    }

    /// <summary>An axe scan of the page: no serious or critical violation (each one named when there are).</summary>
    public static async Task AssertAccessibleAsync(IPage page)
    {
        var result = await page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{page.Url}: " + string.Join("; ", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help}")));
    }

    /// <summary>Signs the browser in on a tenant's host (its base URL, ending in /) with its form.</summary>
    public static async Task SignInAsync(IPage page, string host, string email, string password)
    {
        await page.GotoAsync(host + "sign-in");
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Signed in as")).ToBeVisibleAsync();
    }
}
