using System.Net.Http.Headers;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// The whole harness (the AppHost: platform, local Cloudflare API, N accounts) on a throw-away state
/// root, for benchmarks that measure as a user would: through the platform.
/// </summary>
internal sealed class BenchHarness : IAsyncDisposable
{
    private readonly DistributedApplication _app;

    private BenchHarness(DistributedApplication app, string stateRoot)
    {
        _app = app;
        StateRoot = stateRoot;
        Supervisor = app.Services.GetRequiredService<StackSupervisor>();
        Tokens = app.Services.GetRequiredService<TokenIssuer>();
        Platform = new Uri(Supervisor.Find("platform")!.Url!);
        AdminToken = PlatformSecrets.LoadOrCreateAdminToken(stateRoot);
    }

    public string StateRoot { get; }

    public StackSupervisor Supervisor { get; }

    public TokenIssuer Tokens { get; }

    public Uri Platform { get; }

    public string AdminToken { get; }

    /// <summary>The running local Cloudflare API (its base URL and token).</summary>
    public ControlPlane.ControlPlaneServer ControlPlane => _app.Services.GetRequiredService<ControlPlane.ControlPlaneHandle>().Server!;

    public static async Task<BenchHarness> StartAsync(int accounts, params string[] extra)
    {
        var stateRoot = Path.Combine(Path.GetTempPath(), "emulation-bench", Guid.NewGuid().ToString("N"));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--accounts", accounts.ToString(System.Globalization.CultureInfo.InvariantCulture), "--state-root", stateRoot, "--hot-reload", "false", .. extra]);
        var app = await builder.BuildAsync();
        await app.StartAsync();
        foreach (var name in new[] { "platform" }.Concat(Enumerable.Range(1, accounts).Select(i => $"account-{i}")))
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name);
        }
        return new BenchHarness(app, stateRoot);
    }

    /// <summary>Signs an account up through the platform.</summary>
    public Task SignupAsync(HttpClient http, string slug) =>
        new PlatformAdminClient(http, AdminToken).SignupAsync(Platform, slug, slug, CancellationToken.None);

    /// <summary>
    /// An HTTP client signed in as the account's owner, and the account's API base two ways: through
    /// the platform (as its users reach it) and on its own Worker's port.
    /// </summary>
    public async Task<(HttpClient Http, Uri ViaPlatform, Uri Direct, string Token)> OwnerAsync(string slug)
    {
        var direct = new Uri(Supervisor.Find($"acct-{slug}")!.Url! + "/");
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var owner = await new AccountOwnerBootstrap(http, Tokens).EnsureOwnerAsync(direct, slug, CancellationToken.None);
        var token = Tokens.Issue(slug, owner, TimeSpan.FromHours(12));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (http, new Uri(Platform, $"/accounts/{slug}/"), direct, token);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(StateRoot, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder; not worth failing a run over.
        }
    }
}
