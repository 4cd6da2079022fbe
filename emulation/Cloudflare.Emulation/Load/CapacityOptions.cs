using System.Globalization;

namespace Cloudflare.Emulation.Load;

/// <summary>
/// What a capacity run is asked for: <c>--years N [--scale 0.1] [--account account-1] [--report DIR]</c>.
/// Bad values stop it before anything is written, naming the argument.
/// </summary>
public sealed record CapacityOptions(int Years, double Scale, string Account, string? ReportDirectory)
{
    public const int MaxYears = 30;

    public static (CapacityOptions? Options, string? Problem) Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                return (null, $"{args[i]}: expected --years N [--scale 0.1] [--account account-1] [--report DIR]");
            }
            values[args[i]] = args[++i];
        }
        foreach (var name in values.Keys.Where(k => k is not ("--years" or "--scale" or "--account" or "--report")))
        {
            return (null, $"{name}: not an option of capacity (--years, --scale, --account, --report)");
        }
        if (!int.TryParse(values.GetValueOrDefault("--years", "10"), CultureInfo.InvariantCulture, out var years) || years is < 1 or > MaxYears)
        {
            return (null, $"--years: a whole number from 1 to {MaxYears}");
        }
        if (!double.TryParse(values.GetValueOrDefault("--scale", "1"), NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) || scale is <= 0 or > 1 || double.IsNaN(scale))
        {
            return (null, "--scale: a number above 0 and at most 1 (0.1: a tenth of the specified history)");
        }
        var (account, accountProblem) = LoadOptions.ParseAccount(values.GetValueOrDefault("--account", "account-1"), "--account");
        if (account is null)
        {
            return (null, accountProblem);
        }
        var report = values.GetValueOrDefault("--report");
        if (report is not null && LoadOptions.UnwritableFolder(report, "--report") is { } reportProblem)
        {
            return (null, reportProblem);
        }
        return (new CapacityOptions(years, scale, account, report), null);
    }
}
