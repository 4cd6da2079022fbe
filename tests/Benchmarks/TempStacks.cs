using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>A supervisor with its runtime host on a throw-away state root, for one benchmark run.</summary>
internal sealed class TempStacks : IAsyncDisposable
{
    private TempStacks(string stateRoot, StackSupervisor supervisor)
    {
        StateRoot = stateRoot;
        Supervisor = supervisor;
    }

    public string StateRoot { get; }

    public StackSupervisor Supervisor { get; }

    public static async Task<TempStacks> StartAsync()
    {
        var stateRoot = Path.Combine(Path.GetTempPath(), "emulation-bench", Guid.NewGuid().ToString("N"));
        var supervisor = new StackSupervisor(new HarnessOptions
        {
            StateRoot = stateRoot,
            WorkersDirectory = Path.Combine(Repository.Root, "workers"),
            RuntimeHostScript = Path.Combine(Repository.Root, "emulation", "runtime-host", "host.mjs"),
        }, NullLogger<StackSupervisor>.Instance);
        await supervisor.StartAsync(CancellationToken.None);
        return new TempStacks(stateRoot, supervisor);
    }

    /// <summary>Starts an account stack and signs its owner in: the returned client carries the owner's token.</summary>
    public async Task<BenchAccount> StartAccountAsync(string name)
    {
        var tokens = TokenIssuer.LoadOrCreate(StateRoot);
        var stack = await Supervisor.StartStackAsync(
            Account(name, new Dictionary<string, string> { ["AUTH_PUBLIC_KEY"] = tokens.PublicJwk() }), CancellationToken.None);
        var baseUrl = new Uri(stack.Url! + "/");
        var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var owner = await new AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(baseUrl, name, CancellationToken.None);
        var token = tokens.Issue(name, owner, TimeSpan.FromHours(1));
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return new BenchAccount(baseUrl, http, token, tokens);
    }

    /// <summary>An account stack definition with its own D1, R2 and KV.</summary>
    public static StackDefinition Account(string name, IReadOnlyDictionary<string, string>? extraVars = null) => new(name, "account",
        D1: new Dictionary<string, string> { ["DB"] = $"{name}-db" },
        R2: new Dictionary<string, string> { ["DOCUMENTS"] = $"{name}-documents" },
        Kv: new Dictionary<string, string> { ["CACHE"] = $"{name}-kv" },
        Vars: new Dictionary<string, string>(extraVars ?? new Dictionary<string, string>()) { ["ACCOUNT_ID"] = name });

    public static double Percentile(List<double> sorted, int p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public async ValueTask DisposeAsync()
    {
        await Supervisor.DisposeAsync();
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

/// <summary>A running account stack whose owner is signed in on <see cref="Http"/>.</summary>
internal sealed class BenchAccount(Uri baseUrl, HttpClient http, string token, TokenIssuer tokens) : IDisposable
{
    public Uri BaseUrl { get; } = baseUrl;

    public HttpClient Http { get; } = http;

    public string Token { get; } = token;

    public void Dispose()
    {
        Http.Dispose();
        tokens.Dispose();
    }
}
