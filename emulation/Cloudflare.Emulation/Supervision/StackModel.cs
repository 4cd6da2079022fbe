namespace Cloudflare.Emulation.Supervision;

/// <summary>Where a stack is in its life.</summary>
public enum StackState
{
    Starting,
    Running,
    Reloading,
    Failed,
    Stopped,
}

/// <summary>
/// What a stack is: which Worker it runs and exactly which resources it is bound to. A stack sees
/// these bindings and nothing else.
/// </summary>
public sealed record StackDefinition(
    string Name,
    string Worker,
    IReadOnlyDictionary<string, string> D1,
    IReadOnlyDictionary<string, string> R2,
    IReadOnlyDictionary<string, string> Kv,
    IReadOnlyDictionary<string, string> Vars,
    int Port = 0,
    UploadedScript? Script = null,
    Runtime.StackPersistence? Persist = null,
    IReadOnlyDictionary<string, Runtime.S3Credentials>? R2Credentials = null);

/// <summary>Worker code uploaded through the control plane (instead of a Worker folder of the repository).</summary>
public sealed record UploadedScript(string MainModule, string CompatibilityDate, IReadOnlyList<string> CompatibilityFlags);

/// <summary>A snapshot of one stack as the supervisor knows it.</summary>
public sealed record StackStatus(
    string Name,
    string Worker,
    StackState State,
    string StateDirectory,
    string? Url = null,
    int? ProcessId = null,
    string? LastError = null,
    IReadOnlyList<string>? RecentLog = null,
    TimeSpan? StartDuration = null,
    bool Crashed = false,
    bool Paused = false,
    bool Partitioned = false,
    bool TelemetryStopped = false);

/// <summary>One line of a stack's log (workerd stdout/stderr, Miniflare, the host about the stack).</summary>
public sealed record StackLogLine(string Stack, string Level, string Line);
