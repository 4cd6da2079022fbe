using System.Globalization;
using System.Text.RegularExpressions;

namespace Cloudflare.Emulation.Load;

/// <summary>
/// What a load run is asked for: <c>--users N --seconds S [--account account-1] [--think 10s]
/// [--report DIR] [--step K]</c> (with a step: K, 2K, … users up to N, S seconds each, until the
/// target is missed). Bad values stop it before any traffic, naming the argument.
/// </summary>
public sealed partial record LoadOptions(int Users, int Seconds, string Account, TimeSpan Think, string? ReportDirectory, int? Step = null)
{
    /// <summary>What a step must meet to count as capacity (issue 14's target): p99 at most this, and no error.</summary>
    public const double TargetP99Ms = 250;

    public const int MaxUsers = 20_000;

    /// <summary>The options, or what is wrong with the first bad argument (its name first).</summary>
    public static (LoadOptions? Options, string? Problem) Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                return (null, $"{args[i]}: expected --users N --seconds S [--account account-1] [--think 10s] [--report DIR]");
            }
            values[args[i]] = args[++i];
        }
        foreach (var name in values.Keys.Where(k => k is not ("--users" or "--seconds" or "--account" or "--think" or "--report" or "--step")))
        {
            return (null, $"{name}: not an option of load (--users, --seconds, --account, --think, --report, --step)");
        }
        if (!int.TryParse(values.GetValueOrDefault("--users", "100"), CultureInfo.InvariantCulture, out var users) || users is < 1 or > MaxUsers)
        {
            return (null, $"--users: a whole number from 1 to {MaxUsers}");
        }
        if (!int.TryParse(values.GetValueOrDefault("--seconds", "60"), CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > 3600)
        {
            return (null, "--seconds: a whole number from 1 to 3600");
        }
        var (account, accountProblem) = ParseAccount(values.GetValueOrDefault("--account", "account-1"), "--account");
        if (account is null)
        {
            return (null, accountProblem);
        }
        if (ThinkTime().Match(values.GetValueOrDefault("--think", "10s")) is not { Success: true } think
            || double.Parse(think.Groups[1].Value, CultureInfo.InvariantCulture) is var amount && amount <= 0)
        {
            return (null, "--think: a mean think time such as 10s or 500ms, above 0");
        }
        var thinkTime = think.Groups[2].Value == "ms" ? TimeSpan.FromMilliseconds(amount) : TimeSpan.FromSeconds(amount);
        int? step = null;
        if (values.TryGetValue("--step", out var stepText))
        {
            if (!int.TryParse(stepText, CultureInfo.InvariantCulture, out var stepUsers) || stepUsers < 1 || stepUsers > users)
            {
                return (null, $"--step: a whole number of users from 1 to --users ({users})");
            }
            step = stepUsers;
        }
        var report = values.GetValueOrDefault("--report");
        if (report is not null && UnwritableFolder(report, "--report") is { } reportProblem)
        {
            return (null, reportProblem);
        }
        return (new LoadOptions(users, seconds, account, thinkTime, report, step), null);
    }

    /// <summary>Which account-N: the harness for the run starts that many accounts.</summary>
    public int AccountNumber => NumberOf(Account);

    /// <summary>The N of account-N.</summary>
    public static int NumberOf(string account) => int.Parse(account["account-".Length..], CultureInfo.InvariantCulture);

    /// <summary>One of the harness's accounts (account-1 … account-20), or what is wrong with it under the argument's name.</summary>
    public static (string? Account, string? Problem) ParseAccount(string account, string argument) =>
        AccountName().IsMatch(account) ? (account, null) : (null, $"{argument}: '{account}' is not one of the harness's accounts (account-1 … account-20)");

    /// <summary>Null when the folder can be made and written to; otherwise why not, under the argument's name.</summary>
    public static string? UnwritableFolder(string folder, string argument)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".probe-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return $"{argument}: '{folder}' cannot be written ({ex.Message})";
        }
    }

    [GeneratedRegex("^account-([1-9]|1[0-9]|20)$")]
    private static partial Regex AccountName();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(s|ms)$")]
    private static partial Regex ThinkTime();
}
