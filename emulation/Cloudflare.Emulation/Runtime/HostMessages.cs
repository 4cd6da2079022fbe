using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloudflare.Emulation.Runtime;

/// <summary>What the runtime host needs to run one stack: its Worker, bindings and state folder.</summary>
public sealed record HostStackSpec(
    string Name,
    string Worker,
    string PersistDir,
    int Port,
    IReadOnlyDictionary<string, string> D1,
    IReadOnlyDictionary<string, string> R2,
    IReadOnlyDictionary<string, string> Kv,
    IReadOnlyDictionary<string, string> Vars,
    string? Script = null,
    string? CompatibilityDate = null,
    IReadOnlyList<string>? CompatibilityFlags = null,
    StackPersistence? Persist = null,
    IReadOnlyDictionary<string, S3Credentials>? R2Credentials = null,
    string? Resource = null);

/// <summary>S3 credentials of an R2 bucket (by bucket name): Miniflare's local S3 endpoint checks requests against them.</summary>
public sealed record S3Credentials(string AccessKeyId, string SecretAccessKey);

/// <summary>Folders holding a stack's D1, R2 and KV data, when they are not inside the stack's own folder.</summary>
public sealed record StackPersistence(string? D1, string? R2, string? Kv);

/// <summary>An unsolicited message from the host: a log line, a crash, a reload.</summary>
public sealed record HostEvent(
    string Event,
    string? Name,
    string? Level,
    string? Line,
    int? Pid,
    string? Message,
    string[]? Recent,
    string[]? Migrations,
    string? Worker = null,
    string? Reason = null,
    int? Protocol = null,
    string? Url = null,
    string? Secret = null)
{
    /// <summary>Never a control event's secret: records print every member, and this one may end up in a log.</summary>
    public override string ToString() => $"HostEvent {{ Event = {Event}, Name = {Name}, Pid = {Pid}, Message = {Message} }}";
}

internal static class HostJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>One outbound fetch of a stack's Worker, as the egress guard saw it (no query string).</summary>
public sealed record EgressRecord(DateTimeOffset At, string Method, string Destination, bool Allowed, string Rule);
