using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Cloudflare.Emulation.Configuration;

/// <summary>
/// Where tenant data may live and travel — the one place it is written down (configuration section
/// Harness:Residency). The local Cloudflare API refuses resources outside <see cref="Jurisdictions"/>,
/// the platform admits only users from <see cref="UserCountries"/>, the runtime host lets a Worker's
/// outbound fetch reach only <see cref="Egress"/>, and the residency report checks all three.
/// </summary>
public sealed partial record ResidencyPolicy
{
    public const string Section = "Harness:Residency";

    /// <summary>D1 and R2 jurisdictions resources may be created in (Cloudflare's: eu, fedramp).</summary>
    public IReadOnlyList<string> Jurisdictions { get; init; } = ["eu"];

    /// <summary>Countries (ISO 3166-1 alpha-2, as in request.cf.country) users may come from.</summary>
    public IReadOnlyList<string> UserCountries { get; init; } = ["GB"];

    /// <summary>
    /// Hosts a Worker's outbound fetch may reach besides other Workers of this harness and the
    /// Cloudflare API: exact names or "*.suffix" patterns. Empty: nothing else.
    /// </summary>
    public IReadOnlyList<string> Egress { get; init; } = [];

    /// <summary>
    /// Where tenants' host names are served from (Regional Services region key): gb, Cloudflare's
    /// United Kingdom region, so UK users' traffic is decrypted and processed in the UK.
    /// </summary>
    public string HostnameRegion { get; init; } = "gb";

    public static ResidencyPolicy Default { get; } = new();

    public bool AllowsJurisdiction(string? jurisdiction) =>
        jurisdiction is not null && Jurisdictions.Contains(jurisdiction, StringComparer.Ordinal);

    /// <summary>Reads Harness:Residency (lists as Jurisdictions:0, … or comma-separated strings) and checks it.</summary>
    public static ResidencyPolicy Load(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var policy = new ResidencyPolicy
        {
            Jurisdictions = List(section, nameof(Jurisdictions)) ?? Default.Jurisdictions,
            UserCountries = List(section, nameof(UserCountries)) ?? Default.UserCountries,
            Egress = List(section, nameof(Egress)) ?? Default.Egress,
            HostnameRegion = section[nameof(HostnameRegion)] ?? Default.HostnameRegion,
        };
        policy.Validate();
        return policy;
    }

    public void Validate()
    {
        if (Jurisdictions.Count == 0 || Jurisdictions.Any(j => j is not ("eu" or "fedramp")))
        {
            throw new HarnessConfigurationException($"{Section}:Jurisdictions",
                $"must list Cloudflare jurisdictions (eu, fedramp), got [{string.Join(", ", Jurisdictions)}].");
        }
        if (UserCountries.Count == 0 || UserCountries.Any(c => !CountryCode().IsMatch(c)))
        {
            throw new HarnessConfigurationException($"{Section}:UserCountries",
                $"must list two-letter country codes such as GB, got [{string.Join(", ", UserCountries)}].");
        }
        if (!RegionKey().IsMatch(HostnameRegion))
        {
            throw new HarnessConfigurationException($"{Section}:HostnameRegion",
                $"must be a Regional Services region key such as gb or eu, got '{HostnameRegion}'.");
        }
        if (Egress.Any(e => !HostPattern().IsMatch(e)))
        {
            throw new HarnessConfigurationException($"{Section}:Egress",
                $"must list host names or *.suffix patterns (no scheme, port or path), got [{string.Join(", ", Egress)}].");
        }
    }

    private static List<string>? List(IConfigurationSection section, string key)
    {
        var child = section.GetSection(key);
        var items = child.GetChildren().Select(c => c.Value).OfType<string>().ToList();
        if (items.Count > 0)
        {
            return items;
        }
        return child.Value is { } flat
            ? [.. flat.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : null;
    }

    [GeneratedRegex("^[a-z]{2,10}$")]
    private static partial Regex RegionKey();

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryCode();

    [GeneratedRegex(@"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")]
    private static partial Regex HostPattern();
}
