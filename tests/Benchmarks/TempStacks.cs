using Cloudflare.Emulation.Configuration;
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
