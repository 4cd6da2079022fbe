using System.Collections.Concurrent;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// What one run of the harness has learnt that several parts need: the emulator's row, the row of
/// every stack (the model's, and rows made at run time for accounts signed up meanwhile), the
/// platform's admin token, and which accounts are provisioned.
/// </summary>
internal sealed class HarnessRun(StackSupervisor supervisor)
{
    public CloudflareEmulatorResource? Emulator { get; set; }

    /// <summary>The platform's admin token (set once the supervisor is up).</summary>
    public string AdminToken { get; set; } = "";

    /// <summary>Rows by stack name. Aspire cannot add resources to a running model, so rows made at run time are only here and on the dashboard.</summary>
    public ConcurrentDictionary<string, WorkerStackResource> Stacks { get; } = new();

    private readonly ConcurrentDictionary<string, bool> _provisioned = new();

    /// <summary>True once the row's account is active (signed up and provisioned) and has its owner.</summary>
    public bool IsProvisioned(WorkerStackResource stack) => _provisioned.ContainsKey(stack.Name);

    public void MarkProvisioned(WorkerStackResource stack) => _provisioned[stack.Name] = true;

    /// <summary>The platform's URL while it runs.</summary>
    public Uri? PlatformUrl() =>
        Stacks.Values.Select(s => supervisor.Find(s.Name)).FirstOrDefault(s => s is { Worker: "platform", Url: not null }) is { } p ? new Uri(p.Url!) : null;
}

/// <summary>How the harness calls the platform and accounts over HTTP.</summary>
internal static class PlatformCalls
{
    // Signups deploy a Worker and run migrations, and seeding sends thousands of rows: minutes, not seconds.
    public static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>A call to the platform or an account that failed or timed out (not the harness stopping).</summary>
    public static bool Failed(Exception ex) => ex is HttpRequestException or TaskCanceledException { InnerException: TimeoutException };
}
