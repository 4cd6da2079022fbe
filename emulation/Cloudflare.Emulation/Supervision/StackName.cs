using System.Text.RegularExpressions;

namespace Cloudflare.Emulation.Supervision;

/// <summary>
/// What a stack — and so a Worker script — may be called: the one rule, checked where a name comes in
/// (the local Cloudflare API, the supervisor). A stack's name is also the first label of its
/// workers.dev host name (&lt;script&gt;.&lt;subdomain&gt;.workers.dev), so it is a DNS label.
/// </summary>
public static partial class StackName
{
    public const string Rule = "lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters";

    public static bool IsValid(string name) => Pattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex Pattern();
}
