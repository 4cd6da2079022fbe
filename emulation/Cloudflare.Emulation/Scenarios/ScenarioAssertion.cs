using System.Globalization;
using System.Text.RegularExpressions;

namespace Cloudflare.Emulation.Scenarios;

/// <summary>One assertion of a scenario: "&lt;metric&gt; &lt;op&gt; &lt;number&gt;", e.g. "othersErrors == 0".</summary>
public sealed partial record ScenarioAssertion(string Text, string Metric, string Operator, double Value)
{
    /// <summary>What a scenario can assert on, and what each means (the report lists their values).</summary>
    public static readonly IReadOnlyDictionary<string, string> Metrics = new Dictionary<string, string>
    {
        ["requests"] = "requests the virtual users sent",
        ["othersErrors"] = "failed requests (5xx, 429, no answer) in accounts no step names",
        ["targetErrors"] = "failed requests in the accounts the steps name",
        ["othersP99Ms"] = "p99 latency in accounts no step names",
        ["targetP99Ms"] = "p99 latency in the accounts the steps name",
        ["acknowledgedWritesLost"] = "clients created (201) that cannot be read back after the run",
        ["readYourWritesViolations"] = "a user's own created client not found when read back at once with its bookmark",
        ["recoveredWithinSeconds"] = "from the start of the last step to the end of the targets' last failed request (none after it: 0; still failing at the end: never)",
        ["writesAfterDemotion"] = "writes a demoted user had accepted after the demotion was answered",
        ["targetOutageSeconds"] = "from the targets' first failed request to the end of their last (0 when none failed)",
        ["signupsRefused"] = "signup and resume-signup steps the platform did not complete when asked",
        ["signupsIncomplete"] = "accounts signed up by the steps that are not active after the run",
        ["rolloutFailures"] = "accounts a rollout step reported as not having taken the release",
        ["accountsBehindRelease"] = "accounts without every migration of the platform's release after the run",
        ["halfMigratedAccounts"] = "accounts where a release step's table and its migration's record disagree (one without the other)",
    };

    private static readonly string[] Operators = ["==", "<=", ">=", "<", ">", "!="];

    public static bool TryParse(string text, out ScenarioAssertion assertion, out string why)
    {
        assertion = null!;
        var match = Shape().Match(text ?? "");
        if (!match.Success)
        {
            why = $"'{text}' is not '<metric> <op> <number>' (op one of {string.Join(" ", Operators)})";
            return false;
        }
        var metric = match.Groups["metric"].Value;
        if (!Metrics.ContainsKey(metric))
        {
            why = $"'{metric}' is not a metric ({string.Join(", ", Metrics.Keys)})";
            return false;
        }
        assertion = new ScenarioAssertion(text!, metric, match.Groups["op"].Value, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
        why = "";
        return true;
    }

    /// <summary>Whether the measured value satisfies it (a metric that could not be measured never does).</summary>
    public bool Holds(double? measured) => measured is { } m && Operator switch
    {
        "==" => m == Value,
        "!=" => m != Value,
        "<=" => m <= Value,
        ">=" => m >= Value,
        "<" => m < Value,
        ">" => m > Value,
        _ => false,
    };

    [GeneratedRegex(@"^\s*(?<metric>[A-Za-z0-9]+)\s*(?<op>==|!=|<=|>=|<|>)\s*(?<value>-?\d+(\.\d+)?)\s*$")]
    private static partial Regex Shape();
}
