using System.Text.Json;
using System.Text.Json.Serialization;
using Cloudflare.Emulation.Configuration;

namespace Cloudflare.Emulation.Scenarios;

/// <summary>
/// A failure scenario (a JSON file in scenarios/): bounded traffic through the platform, timed steps
/// that fail parts of the system through the chaos API, and assertions on what users saw.
/// </summary>
public sealed record Scenario(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("accounts")] int Accounts,
    [property: JsonPropertyName("traffic")] ScenarioTraffic Traffic,
    [property: JsonPropertyName("steps")] IReadOnlyList<ScenarioStep> Steps,
    [property: JsonPropertyName("assertions")] IReadOnlyList<string> Assertions)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>Reads and checks a scenario file; a problem is thrown naming the file and the field.</summary>
    public static Scenario Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new HarnessConfigurationException("--scenario", $"'{path}' does not exist. Example: dotnet run --project AppHost -- --scenario scenarios/d1-overloaded.json");
        }
        Scenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize<Scenario>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new HarnessConfigurationException("--scenario", $"{path}: {ex.Path?.TrimStart('$', '.') ?? "the file"} is not valid ({ex.Message.Split(". Path:")[0]})");
        }
        if (scenario is null)
        {
            throw new HarnessConfigurationException("--scenario", $"{path}: the file is empty");
        }
        if (scenario.Problem() is { } problem)
        {
            throw new HarnessConfigurationException("--scenario", $"{path}: {problem}");
        }
        return scenario;
    }

    /// <summary>What is wrong with the scenario, naming the field; null when nothing is.</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Name) || !Name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            return "name: lower-case letters, digits and '-' (it names the report files)";
        }
        if (Accounts is < 1 or > 20)
        {
            return "accounts: from 1 to 20";
        }
        if (Traffic is null)
        {
            return "traffic: required";
        }
        if (Traffic.Problem() is { } traffic)
        {
            return $"traffic.{traffic}";
        }
        for (var i = 0; i < (Steps ?? []).Count; i++)
        {
            if (Steps![i]?.Problem(Traffic.Seconds, Accounts) is { } step)
            {
                return $"steps[{i}].{step}";
            }
            if (Steps[i] is null)
            {
                return $"steps[{i}]: a step object";
            }
        }
        if (Assertions is null || Assertions.Count == 0)
        {
            return "assertions: at least one, e.g. \"othersErrors == 0\"";
        }
        for (var i = 0; i < Assertions.Count; i++)
        {
            if (!ScenarioAssertion.TryParse(Assertions[i], out _, out var why))
            {
                return $"assertions[{i}]: {why}";
            }
        }
        return null;
    }
}

/// <summary>
/// The traffic: <see cref="UsersPerAccount"/> virtual users per account, each signed in once with
/// its own token and D1 bookmark, for <see cref="Seconds"/>: listing clients, creating them (and
/// reading each back with the bookmark), uploading documents when <see cref="UploadShare"/> is set.
/// </summary>
public sealed record ScenarioTraffic(
    [property: JsonPropertyName("usersPerAccount")] int UsersPerAccount = 2,
    [property: JsonPropertyName("seconds")] int Seconds = 20,
    [property: JsonPropertyName("thinkMs")] int ThinkMs = 200,
    [property: JsonPropertyName("writeShare")] double WriteShare = 0.3,
    [property: JsonPropertyName("uploadShare")] double UploadShare = 0,
    [property: JsonPropertyName("uploadBytes")] int UploadBytes = 100 * 1024,
    [property: JsonPropertyName("timeoutMs")] int TimeoutMs = 5000)
{
    public string? Problem() =>
        UsersPerAccount is < 1 or > 50 ? "usersPerAccount: from 1 to 50"
        : Seconds is < 2 or > 300 ? "seconds: from 2 to 300"
        : ThinkMs is < 0 or > 10_000 ? "thinkMs: from 0 to 10000"
        : WriteShare is < 0 or > 1 || double.IsNaN(WriteShare) ? "writeShare: from 0 to 1"
        : UploadShare is < 0 or > 1 || double.IsNaN(UploadShare) || WriteShare + UploadShare > 1 ? "uploadShare: from 0 to 1, with writeShare at most 1 together"
        : UploadBytes is < 1 or > 5 * 1024 * 1024 ? "uploadBytes: from 1 to 5242880"
        : TimeoutMs is < 100 or > 60_000 ? "timeoutMs: from 100 to 60000"
        : null;
}

/// <summary>
/// One timed step, done through the local Cloudflare API as an architect would: <see cref="Action"/>
/// is "faults", "effects", "kv-staleness" or "d1-size-limits" (with <see cref="Body"/>, as those
/// routes take it), "clear" (every rule, effect, delay and limit), "kill", "restart", "pause", "resume", "partition", "heal"
/// (with <see cref="Stack"/>), "replication" (a stack's D1 read replicas: <see cref="Body"/> as its
/// route takes it), "demote" (an account's scenario admin to <see cref="Role"/>), "signup" (a new
/// account, its slug in <see cref="Account"/>, through the platform's admin API), "resume-signup"
/// (that account's provisioning resumed), "release" (a migration published into the platform's
/// release: <see cref="Body"/> { "migration": file name, "sql": …, "creates": a table it creates })
/// or "rollout" (the platform's release rolled out to every active account).
/// </summary>
public sealed partial record ScenarioStep(
    [property: JsonPropertyName("at")] double At,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("stack")] string? Stack = null,
    [property: JsonPropertyName("binding")] string? Binding = null,
    [property: JsonPropertyName("account")] string? Account = null,
    [property: JsonPropertyName("role")] string? Role = null,
    [property: JsonPropertyName("body")] JsonElement? Body = null)
{
    public static readonly IReadOnlyList<string> Actions =
        ["faults", "effects", "kv-staleness", "d1-size-limits", "clear", "kill", "restart", "pause", "resume", "partition", "heal", "replication", "demote", "signup", "resume-signup", "release", "rollout"];

    private static readonly string[] StackActions = ["kill", "restart", "pause", "resume", "partition", "heal", "replication"];
    private static readonly string[] BodyActions = ["faults", "effects", "kv-staleness", "d1-size-limits", "replication", "release"];

    public string? Problem(int seconds, int accounts)
    {
        if (At < 0 || At > seconds || double.IsNaN(At))
        {
            return $"at: seconds into the traffic, from 0 to {seconds}";
        }
        if (!Actions.Contains(Action))
        {
            return $"action: '{Action}' is not one of {string.Join(", ", Actions)}";
        }
        if (StackActions.Contains(Action) && string.IsNullOrEmpty(Stack))
        {
            return "stack: the stack to act on, e.g. acct-account-1 or platform";
        }
        if (BodyActions.Contains(Action) && Body is null)
        {
            return "body: what the chaos route takes (see the README's chaos API)";
        }
        if (Action == "demote")
        {
            if (Account is null || !Account.StartsWith("account-", StringComparison.Ordinal) || !int.TryParse(Account["account-".Length..], out var n) || n < 1 || n > accounts)
            {
                return $"account: one of account-1 … account-{accounts}";
            }
            if (Role is not ("manager" or "staff" or "readonly"))
            {
                return "role: manager, staff or readonly";
            }
        }
        if (Action is "signup" or "resume-signup" && (Account is null || !SignupSlug().IsMatch(Account) || Account.StartsWith("account-", StringComparison.Ordinal)))
        {
            return "account: the new account's slug (2-32 of a-z, 0-9, '-'; not account-N, which the harness names)";
        }
        if (Action == "release" && Release() is null)
        {
            return "body: { \"migration\": \"0100_name.sql\", \"sql\": \"…\", \"creates\": \"a_table\" } (a migration file name after the shipped ones, its SQL, a table it creates)";
        }
        return null;
    }

    /// <summary>A release step's migration: its file name, SQL, and a table it creates (to tell a half-applied one).</summary>
    public (string Migration, string Sql, string Creates)? Release()
    {
        if (Body is not { ValueKind: JsonValueKind.Object } body)
        {
            return null;
        }
        string? Text(string name) => body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return Text("migration") is { } migration && MigrationName().IsMatch(migration) && Text("sql") is { Length: > 0 } sql && Text("creates") is { } creates && TableName().IsMatch(creates)
            ? (migration, sql, creates)
            : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[0-9]{4}_[a-z0-9_]+\\.sql$")]
    private static partial System.Text.RegularExpressions.Regex MigrationName();

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z_][a-z0-9_]*$")]
    private static partial System.Text.RegularExpressions.Regex TableName();

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9-]{1,31}$")]
    private static partial System.Text.RegularExpressions.Regex SignupSlug();

    /// <summary>The stacks a step acts on ("*" for every one), for telling targets from others.</summary>
    public IEnumerable<string> Targets()
    {
        if (Stack is not null)
        {
            yield return Stack;
        }
        if (Action == "demote" && Account is not null)
        {
            yield return "acct-" + Account;
        }
        if (Action is "faults" or "kv-staleness" or "d1-size-limits" && Body is { ValueKind: JsonValueKind.Array } items)
        {
            foreach (var item in items.EnumerateArray())
            {
                // A rule for the Cloudflare API fails provisioning calls, not any tenant's requests.
                if (item.TryGetProperty("service", out var service) && service.ValueKind == JsonValueKind.String && service.GetString() == "api")
                {
                    continue;
                }
                if (item.TryGetProperty("stack", out var stack) && stack.ValueKind == JsonValueKind.String)
                {
                    yield return stack.GetString()!;
                }
            }
        }
        if (Action == "effects")
        {
            yield return "*";
        }
    }
}
