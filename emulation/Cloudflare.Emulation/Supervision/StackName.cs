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

    /// <summary>Provisioning names an account's script acct-&lt;slug&gt; (workers/platform/src/provisioning).</summary>
    public const string AccountScriptPrefix = "acct-";

    /// <summary>
    /// The dashboard row (and telemetry resource) of a stack: an account's script, acct-&lt;slug&gt;, shows
    /// as its account, &lt;slug&gt;; any other stack under its own name.
    /// </summary>
    public static string RowNameOf(string stack) =>
        stack.StartsWith(AccountScriptPrefix, StringComparison.Ordinal) ? stack[AccountScriptPrefix.Length..] : stack;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex Pattern();
}
