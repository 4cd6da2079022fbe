using System.Text.Json;
using System.Text.RegularExpressions;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Residency;

/// <summary>
/// Audits every stack of the running harness against the residency policy, from what is running —
/// the runtime's live bindings, the control plane's records of each resource, the KV cache's actual
/// contents, the egress guard's log — not from what was intended.
/// </summary>
public sealed partial class ResidencyAuditor(StackSupervisor supervisor, ControlPlaneStore store, ResidencyPolicy policy, string zoneName)
{
    /// <summary>Field names that make a KV value personal data (KV may be stored outside the EU).</summary>
    private static readonly HashSet<string> PersonalFields = new(StringComparer.OrdinalIgnoreCase)
    {
        "email", "name", "firstName", "lastName", "fullName", "phone", "telephone", "dateOfBirth", "birthDate",
        "address", "postcode", "postalCode", "niNumber", "nationalInsuranceNumber",
    };

    public async Task<ResidencyReport> AuditAsync(CancellationToken cancellationToken)
    {
        var violations = new List<string>();
        var egress = await supervisor.EgressAsync(null, cancellationToken);
        var stacks = new List<StackResidency>();
        foreach (var status in supervisor.Stacks.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            stacks.Add(await AuditStackAsync(status, egress.GetValueOrDefault(status.Name) ?? [], violations, cancellationToken));
        }
        // Tenants' own domains (custom hostnames) are served where their region says, as tenant hosts are.
        foreach (var custom in store.Snapshot.AllCustomHostnames)
        {
            var region = store.Snapshot.AllRegionalHostnames.FirstOrDefault(h => h.Hostname == custom.Hostname)?.RegionKey;
            if (region != policy.HostnameRegion)
            {
                violations.Add($"custom hostname {custom.Hostname} is served in '{region ?? "any region"}', the policy needs '{policy.HostnameRegion}'");
            }
        }
        return new ResidencyReport(DateTimeOffset.UtcNow, policy, stacks, violations);
    }

    private async Task<StackResidency> AuditStackAsync(StackStatus status, IReadOnlyList<EgressRecord> egress, List<string> violations,
        CancellationToken cancellationToken)
    {
        var name = status.Name;
        var definition = supervisor.DefinitionOf(name)!;
        var script = store.Snapshot.Scripts.FirstOrDefault(s => s.Name == name);
        var blocked = egress.Where(e => !e.Allowed).ToList();
        var summary = new EgressSummary(egress.Count, blocked.Count, [.. egress.Select(e => e.Destination).Distinct(StringComparer.Ordinal)]);
        foreach (var attempt in blocked.DistinctBy(e => e.Destination))
        {
            violations.Add($"{name}: its Worker tried to reach {attempt.Destination} (blocked by the egress guard)");
        }
        if (status.State != StackState.Running)
        {
            // A stopped stack (stopped, or its script deleted) serves nothing; one that should be running
            // but is not cannot be vouched for.
            if (status.State != StackState.Stopped)
            {
                violations.Add($"{name}: cannot be audited while it is {status.State}");
            }
            return new StackResidency(name, status.State.ToString(), [], [], [], [], summary);
        }

        var d1 = new List<D1Residency>();
        foreach (var (binding, id) in definition.D1)
        {
            // A provisioned database has a control-plane record; the platform's own D1 is declared by the harness in the EU.
            var jurisdiction = script is null ? policy.Jurisdictions[0] : store.Snapshot.Databases.FirstOrDefault(d => d.Uuid == id)?.Jurisdiction;
            if (!policy.AllowsJurisdiction(jurisdiction))
            {
                violations.Add($"{name}: D1 {binding} ({id}) has jurisdiction '{jurisdiction ?? "none"}', outside the policy");
            }
            d1.Add(new D1Residency(binding, id, jurisdiction, await ReplicaRegionsAsync(name, binding, cancellationToken)));
        }

        var r2 = new List<R2Residency>();
        foreach (var (binding, bucket) in definition.R2)
        {
            var declared = script?.Bindings.FirstOrDefault(b => b.Type == "r2_bucket" && b.Name == binding);
            var bucketJurisdiction = script is null ? policy.Jurisdictions[0] : store.Snapshot.Buckets.FirstOrDefault(b => b.Name == bucket)?.Jurisdiction;
            var bindingJurisdiction = script is null ? bucketJurisdiction : declared?.Jurisdiction;
            if (!policy.AllowsJurisdiction(bucketJurisdiction) || bindingJurisdiction != bucketJurisdiction)
            {
                violations.Add($"{name}: R2 {binding} ({bucket}) is in '{bucketJurisdiction ?? "none"}' and bound as '{bindingJurisdiction ?? "none"}'; the policy needs {string.Join("/", policy.Jurisdictions)} on both");
            }
            r2.Add(new R2Residency(binding, bucket, bucketJurisdiction, bindingJurisdiction));
        }

        var kv = new List<KvResidency>();
        foreach (var (binding, namespaceId) in definition.Kv)
        {
            var entries = (await supervisor.KvEntriesAsync(name, binding, cancellationToken)).GetProperty("entries").EnumerateArray()
                .Select(e => (Key: e.GetProperty("key").GetString()!, Value: e.GetProperty("value").GetString() ?? "")).ToList();
            var personal = entries.Where(e => IsPersonalData(e.Value)).Select(e => e.Key).ToList();
            foreach (var key in personal.Take(5))
            {
                violations.Add($"{name}: KV {binding} holds personal data under '{key}' (KV has no jurisdiction guarantee)");
            }
            var prefixes = entries.Select(e => e.Key.Split(':')[0] + ":").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            kv.Add(new KvResidency(binding, namespaceId, entries.Count, prefixes, personal));
        }

        // What the runtime really gives the Worker: every resource binding must be one it was declared with.
        var live = await supervisor.LiveBindingsAsync(name, cancellationToken);
        var declaredNames = definition.D1.Keys.Concat(definition.R2.Keys).Concat(definition.Kv.Keys).Concat(definition.Vars.Keys).ToHashSet(StringComparer.Ordinal);
        foreach (var extra in live.Where(b => !declaredNames.Contains(b)))
        {
            violations.Add($"{name}: the running Worker has a binding '{extra}' it was not declared with");
        }
        return new StackResidency(name, status.State.ToString(), d1, r2, kv, live, summary, HostnameOf(name, violations));
    }

    /// <summary>A provisioned account's own host name must be pinned to the policy's region.</summary>
    private TenantHostname? HostnameOf(string stack, List<string> violations)
    {
        if (!stack.StartsWith(Hosting.WorkerStackResource.AccountScriptPrefix, StringComparison.Ordinal) || store.Snapshot.Scripts.All(s => s.Name != stack))
        {
            return null;
        }
        var hostname = $"{stack[Hosting.WorkerStackResource.AccountScriptPrefix.Length..]}.{zoneName}";
        var region = store.Snapshot.AllRegionalHostnames.FirstOrDefault(h => h.Hostname == hostname)?.RegionKey;
        if (region != policy.HostnameRegion)
        {
            violations.Add($"{stack}: host name {hostname} is served in '{region ?? "any region"}', the policy needs '{policy.HostnameRegion}'");
        }
        return new TenantHostname(hostname, region);
    }

    private async Task<IReadOnlyList<string>> ReplicaRegionsAsync(string stack, string binding, CancellationToken cancellationToken)
    {
        var status = await supervisor.D1ReplicationAsync(stack, binding, null, cancellationToken);
        return [.. status.GetProperty("replicaState").EnumerateArray().Select(r => r.GetProperty("region").GetString()!)];
    }

    /// <summary>A value is personal data if it holds an e-mail address or a JSON field that names a person.</summary>
    internal static bool IsPersonalData(string value)
    {
        if (Email().IsMatch(value))
        {
            return true;
        }
        try
        {
            using var document = JsonDocument.Parse(value);
            return HasPersonalField(document.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool HasPersonalField(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Any(p => PersonalFields.Contains(p.Name) || HasPersonalField(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(HasPersonalField),
        _ => false,
    };

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")]
    private static partial Regex Email();
}
