using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// Where everything of a running harness answers, for scripts: &lt;state root&gt;/endpoints.json,
/// rewritten whenever a stack's URL changes (written whole, then renamed into place).
/// </summary>
public sealed record HarnessEndpoints(
    [property: JsonPropertyName("dashboard")] string? Dashboard,
    [property: JsonPropertyName("platform")] string? Platform,
    [property: JsonPropertyName("cloudflareApi")] string? CloudflareApi,
    [property: JsonPropertyName("cloudflareAccountId")] string? CloudflareAccountId,
    [property: JsonPropertyName("emulatorApi")] string? EmulatorApi,
    [property: JsonPropertyName("r2S3")] string? R2S3,
    [property: JsonPropertyName("tenantHost")] string? TenantHost,
    [property: JsonPropertyName("stacks")] IReadOnlyDictionary<string, string> Stacks)
{
    public const string FileName = "endpoints.json";

    // Relaxed escaping: the file is read by people too ("<slug>", not "\u003Cslug\u003E").
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string PathUnder(string stateRoot) => Path.Combine(stateRoot, FileName);

    public void Write(string stateRoot)
    {
        var path = PathUnder(stateRoot);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Json));
        File.Move(temp, path, overwrite: true);
    }

    public static HarnessEndpoints? Read(string stateRoot) =>
        File.Exists(PathUnder(stateRoot)) ? JsonSerializer.Deserialize<HarnessEndpoints>(File.ReadAllText(PathUnder(stateRoot))) : null;
}
