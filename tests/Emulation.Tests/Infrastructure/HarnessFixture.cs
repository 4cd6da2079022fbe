using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace Emulation.Tests.Infrastructure;

/// <summary>
/// The whole harness (the real AppHost) with two account stacks, started once for a test collection,
/// on its own state root and random ports.
/// </summary>
public class HarnessFixture : IAsyncLifetime
{
    /// <summary>
    /// Whether the harness reloads Workers when files under workers/ change. Off for the shared one: a
    /// test that saves a Worker file (in its own harness) must not reload stacks other tests are using.
    /// </summary>
    protected virtual bool HotReload => false;

    /// <summary>More command-line settings for the AppHost (a fixture of its own adds them), read once its start is prepared.</summary>
    protected virtual Task<string[]> ExtraArgumentsAsync() => Task.FromResult(Array.Empty<string>());

    /// <summary>Whether the AppHost runs its dashboard (as `dotnet run` does; tests run without one).</summary>
    protected virtual bool Dashboard => false;

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    public static readonly string[] Accounts = ["account-1", "account-2"];

    public DistributedApplication App { get; private set; } = null!;

    public StackSupervisor Supervisor { get; private set; } = null!;

    public string StateRoot { get; } = RepositoryPaths.NewStateRoot("harness");

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public TokenIssuer Tokens { get; private set; } = null!;

    public Uri PlatformUrl => new(Supervisor.Find("platform")!.Url!);

    /// <summary>The supervisor's stack of an AppHost account: the script provisioning deployed for it.</summary>
    public static string StackOf(string account) => $"acct-{account}";

    /// <summary>Where an account's D1 keeps its SQLite files (its own folder, from the control plane's records).</summary>
    public string D1DirectoryOf(string account) => ControlPlane.Store.ResourceDirectory("d1", DatabaseIdOf(StackOf(account)));

    /// <summary>The id of the D1 database a deployed script (a stack) is bound to, from the control plane's records.</summary>
    public string DatabaseIdOf(string stack) =>
        ControlPlane.Store.Snapshot.Scripts.Single(s => s.Name == stack).Bindings.Single(b => b.Type == "d1").Id!;

    /// <summary>Uploads a one-module Worker script through the local Cloudflare API (multipart, as wrangler does).</summary>
    public Task<(System.Net.HttpStatusCode Status, System.Text.Json.JsonElement Envelope)> UploadScriptAsync(string name, string module, object[] bindings)
    {
        var form = new MultipartFormDataContent();
        var metadata = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { main_module = "index.js", compatibility_date = "2026-07-01", bindings }));
        metadata.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        form.Add(metadata, "metadata", "metadata.json");
        var code = new StringContent(module);
        code.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/javascript+module");
        form.Add(code, "index.js", "index.js");
        return CloudflareAsync(HttpMethod.Put, $"accounts/{ControlPlane.AccountId}/workers/scripts/{name}", content: form);
    }

    /// <summary>Each account's owner (created by the harness at start, as provisioning would).</summary>
    public IReadOnlyDictionary<string, string> Owners { get; private set; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        App = await StartAsync(StateRoot, accounts: 2, HotReload, await ExtraArgumentsAsync(), Dashboard);
        Supervisor = App.Services.GetRequiredService<StackSupervisor>();
        Tokens = App.Services.GetRequiredService<TokenIssuer>();
        var bootstrap = new AccountOwnerBootstrap(Http, Tokens);
        var owners = new Dictionary<string, string>();
        foreach (var account in Accounts)
        {
            owners[account] = await bootstrap.EnsureOwnerAsync(new Uri(Supervisor.Find(StackOf(account))!.Url!), account, CancellationToken.None);
        }
        Owners = owners;
    }

    /// <summary>A call to the platform's /admin API with the harness's admin token.</summary>
    public async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(PlatformUrl, path)) { Content = body as HttpContent ?? (body is null ? null : System.Net.Http.Json.JsonContent.Create(body)) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PlatformSecrets.LoadOrCreateAdminToken(StateRoot));
        return await Http.SendAsync(request);
    }

    /// <summary>The running local Cloudflare API.</summary>
    public Cloudflare.Emulation.ControlPlane.ControlPlaneServer ControlPlane =>
        App.Services.GetRequiredService<Cloudflare.Emulation.ControlPlane.ControlPlaneHandle>().Server!;

    /// <summary>A call to the local Cloudflare API (a relative path is under /client/v4/, "/__emulator/…" is not); asserts the answer is Cloudflare's envelope.</summary>
    public async Task<(System.Net.HttpStatusCode Status, System.Text.Json.JsonElement Envelope)> CloudflareAsync(HttpMethod method, string path,
        object? body = null, string? token = null, HttpContent? content = null, string? jurisdiction = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(ControlPlane.BaseUrl, path));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token ?? ControlPlane.ApiToken);
        if (jurisdiction is not null)
        {
            request.Headers.Add("cf-r2-jurisdiction", jurisdiction);
        }
        request.Content = content ?? (body is null ? null : System.Net.Http.Json.JsonContent.Create(body));
        using var response = await Http.SendAsync(request);
        var envelope = await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content);
        Assert.True(envelope.TryGetProperty("success", out _) && envelope.TryGetProperty("errors", out _) && envelope.TryGetProperty("result", out _),
            $"not a Cloudflare envelope: {envelope}");
        return (response.StatusCode, envelope);
    }

    /// <summary>The account's API as its owner.</summary>
    public AccountApi AsOwner(string account) => As(account, Owners[account]);

    /// <summary>The account's API as one of its users.</summary>
    public AccountApi As(string account, string subject) =>
        new(Http, PlatformUrl, account, Tokens.Issue(account, subject, TimeSpan.FromMinutes(30)));

    /// <summary>Creates a user with <paramref name="role"/> in the account and returns the API as that user.</summary>
    public async Task<(string Id, AccountApi Api)> UserAsync(string account, string role)
    {
        var id = await AsOwner(account).CreateIdAsync("users", new { email = $"{role}-{Guid.NewGuid():N}@example.com", name = $"A {role}", role });
        return (id, As(account, id));
    }

    /// <summary>Starts the AppHost the way `dotnet run` does, with test settings, and waits for every stack to be healthy.</summary>
    public static async Task<DistributedApplication> StartAsync(string stateRoot, int accounts, bool hotReload, string[]? extra = null, bool dashboard = false)
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--accounts", accounts.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--state-root", stateRoot,
             "--hot-reload", hotReload ? "true" : "false",
             .. extra ?? []],
            (options, _) => options.DisableDashboard = !dashboard,
            cts.Token);
        var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        foreach (var name in new[] { "platform" }.Concat(Enumerable.Range(1, accounts).Select(i => $"account-{i}")))
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        }
        return app;
    }

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
        TryDelete(StateRoot);
    }

    public static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a run over.
        }
    }

    /// <summary>Waits until a resource's dashboard state is <paramref name="state"/>.</summary>
    public async Task WaitForStateAsync(string resource, string state)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await App.ResourceNotifications.WaitForResourceAsync(resource, e => e.Snapshot.State?.Text == state, cts.Token);
    }
}

[CollectionDefinition(Name)]
public sealed class HarnessCollection : ICollectionFixture<HarnessFixture>
{
    public const string Name = "harness";
}

/// <summary>
/// A harness of its own for tests that kill, restart, redeploy or reconfigure the AppHost's stacks
/// (crashes, hot reloads, rollouts, read replicas): what they do to account-1 and account-2 never
/// reaches the tests that read them in the shared harness.
/// </summary>
/// <summary>The disruptive tests' harness: like the shared one, with hot reload on.</summary>
public sealed class DisruptiveHarnessFixture : HarnessFixture
{
    protected override bool HotReload => true;
}

[CollectionDefinition(Name)]
public sealed class DisruptiveHarnessCollection : ICollectionFixture<DisruptiveHarnessFixture>
{
    public const string Name = "disruptive harness";
}
