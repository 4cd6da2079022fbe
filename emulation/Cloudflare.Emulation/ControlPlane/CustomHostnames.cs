using System.Globalization;
using System.Text.RegularExpressions;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// A custom hostname of the tenants' zone (Cloudflare for SaaS): a customer's own domain routed to the
/// zone once its owner has published the ownership record and the certificate's validation record.
/// </summary>
public sealed record CustomHostnameRecord(
    string Id,
    string Hostname,
    string SslMethod,
    string OwnershipToken,
    string ValidationToken,
    IReadOnlyDictionary<string, string>? CustomMetadata,
    DateTimeOffset CreatedAt,
    DateTimeOffset? VerifiedAt = null)
{
    public bool Active => VerifiedAt is not null;
}

/// <summary>
/// What a custom hostname may be — the one place the rule lives (the platform passes the API's
/// answer on): a DNS name of at least two labels, 253 characters at most, each label 1–63 letters,
/// digits or inner hyphens; not an IP address, not a wildcard, not the platform's own zone or a name in it.
/// </summary>
public static partial class CustomHostnameRules
{
    /// <summary>The name as stored and compared (lowercase, no trailing dot), or what is wrong with it under "hostname".</summary>
    public static (string? Hostname, string? Problem) Check(string? raw, string zoneName)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return (null, "hostname: a host name is required");
        }
        var name = raw.Trim().ToLower(CultureInfo.InvariantCulture);
        name = name.EndsWith('.') ? name[..^1] : name;
        if (name.Length > 253)
        {
            return (null, $"hostname: at most 253 characters (this one has {name.Length})");
        }
        if (name.Contains('*', StringComparison.Ordinal))
        {
            return (null, "hostname: wildcard custom hostnames are not allowed here; add each host name");
        }
        if (name.Contains(':', StringComparison.Ordinal) || IPv4().IsMatch(name))
        {
            return (null, $"hostname: '{name}' is an IP address; a custom hostname is a domain name");
        }
        var labels = name.Split('.');
        if (labels.Length < 2)
        {
            return (null, $"hostname: '{name}' is a bare top-level domain; a custom hostname has at least two labels");
        }
        if (labels.FirstOrDefault(l => l.Length is 0 or > 63) is { } longOrEmpty)
        {
            return (null, $"hostname: each label is 1 to 63 characters ('{(longOrEmpty.Length > 20 ? longOrEmpty[..20] + "…" : longOrEmpty)}' is {longOrEmpty.Length})");
        }
        if (labels.FirstOrDefault(l => !Label().IsMatch(l)) is { } bad)
        {
            return (null, $"hostname: label '{bad}' may hold only letters, digits and inner hyphens (no underscore)");
        }
        if (labels[^1].All(char.IsAsciiDigit))
        {
            return (null, $"hostname: '{name}' ends in a numeric label; a custom hostname is a domain name");
        }
        var zone = zoneName.ToLower(CultureInfo.InvariantCulture);
        if (name == zone || name.EndsWith("." + zone, StringComparison.Ordinal))
        {
            return (null, $"hostname: '{name}' is in the platform's own zone {zone}; tenants there need no custom hostname");
        }
        return (name, null);
    }

    [GeneratedRegex(@"^\d{1,3}(\.\d{1,3}){3}$")]
    private static partial Regex IPv4();

    [GeneratedRegex(@"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex Label();
}
