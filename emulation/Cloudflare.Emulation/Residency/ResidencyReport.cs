using System.Globalization;
using System.Text;
using Cloudflare.Emulation.Configuration;

namespace Cloudflare.Emulation.Residency;

/// <summary>Where one stack's data lives and travels, as read from the running harness.</summary>
public sealed record StackResidency(
    string Stack,
    string State,
    IReadOnlyList<D1Residency> D1,
    IReadOnlyList<R2Residency> R2,
    IReadOnlyList<KvResidency> Kv,
    IReadOnlyList<string> LiveBindings,
    EgressSummary Egress,
    TenantHostname? Hostname = null);

/// <summary>An account's own host name and the Regional Services region its traffic is processed in.</summary>
public sealed record TenantHostname(string Hostname, string? Region);

/// <summary>A D1 binding: its database, the database's jurisdiction, and the regions of its read replicas.</summary>
public sealed record D1Residency(string Binding, string DatabaseId, string? Jurisdiction, IReadOnlyList<string> ReplicaRegions);

/// <summary>An R2 binding: the bucket's jurisdiction and the one the binding declares (they must agree).</summary>
public sealed record R2Residency(string Binding, string Bucket, string? BucketJurisdiction, string? BindingJurisdiction);

/// <summary>
/// A KV binding. KV has no jurisdiction guarantee, so the report says what it holds: how many keys,
/// their prefixes, and any key whose value looks like personal data.
/// </summary>
public sealed record KvResidency(string Binding, string NamespaceId, int Keys, IReadOnlyList<string> KeyPrefixes, IReadOnlyList<string> PersonalDataKeys);

/// <summary>Outbound fetches of the stack's Worker: how many, how many blocked, and where to.</summary>
public sealed record EgressSummary(int Attempts, int Blocked, IReadOnlyList<string> Destinations);

/// <summary>The residency audit of every stack against the policy; <see cref="Violations"/> empty means compliant.</summary>
public sealed record ResidencyReport(DateTimeOffset GeneratedAt, ResidencyPolicy Policy, IReadOnlyList<StackResidency> Stacks, IReadOnlyList<string> Violations)
{
    public bool Compliant => Violations.Count == 0;

    /// <summary>The report as a plain-text table, one row per stack, then the violations.</summary>
    public string ToTable()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Residency report {GeneratedAt:u} — policy: jurisdictions {string.Join(",", Policy.Jurisdictions)}; users {string.Join(",", Policy.UserCountries)}; egress [{string.Join(", ", Policy.Egress)}]");
        text.AppendLine("| stack | state | host name (region) | D1 (jurisdiction, replicas) | R2 (bucket / binding jurisdiction) | KV (keys, personal data) | live bindings | egress (attempts / blocked) |");
        text.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var s in Stacks)
        {
            var d1 = string.Join("; ", s.D1.Select(d => $"{d.Binding}: {d.Jurisdiction ?? "none"}{(d.ReplicaRegions.Count > 0 ? $" +{string.Join("/", d.ReplicaRegions)}" : "")}"));
            var r2 = string.Join("; ", s.R2.Select(r => $"{r.Binding}: {r.BucketJurisdiction ?? "none"} / {r.BindingJurisdiction ?? "none"}"));
            var kv = string.Join("; ", s.Kv.Select(k => $"{k.Binding}: {k.Keys} keys [{string.Join(",", k.KeyPrefixes)}], personal data: {(k.PersonalDataKeys.Count == 0 ? "none" : string.Join(",", k.PersonalDataKeys))}"));
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Stack} | {s.State} | {(s.Hostname is { } h ? $"{h.Hostname} ({h.Region ?? "none"})" : "—")} | {Or(d1)} | {Or(r2)} | {Or(kv)} | {string.Join(",", s.LiveBindings)} | {s.Egress.Attempts} / {s.Egress.Blocked} |");
        }
        text.AppendLine(Compliant ? "No violations." : $"{Violations.Count} violation(s):");
        foreach (var v in Violations)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  - {v}");
        }
        return text.ToString();
    }

    /// <summary>Writes the machine-readable copy (JSON) to <paramref name="path"/>, creating its folder.</summary>
    public void WriteJson(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(this, JsonOptions));
    }

    /// <summary>Where the latest report of a harness is kept: &lt;state root&gt;/reports/residency.json.</summary>
    public static string PathUnder(string stateRoot) => Path.Combine(stateRoot, "reports", "residency.json");

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };

    private static string Or(string value) => value.Length == 0 ? "—" : value;
}
