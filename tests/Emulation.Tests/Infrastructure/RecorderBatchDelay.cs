using System.Globalization;
using System.Text.RegularExpressions;

namespace Emulation.Tests.Infrastructure;

/// <summary>
/// How long a traced stack's isolate keeps finished records before it exports them: trace-context.js's
/// <c>BATCH_DELAY_MS</c>, read from the file, so that a test or benchmark waiting on exports follows it.
/// (Also compiled into tests/Benchmarks.)
/// </summary>
internal static class RecorderBatchDelay
{
    public static TimeSpan Read(string repositoryRoot)
    {
        var path = Path.Combine(repositoryRoot, "emulation", "runtime-host", "trace-context.js");
        var match = Regex.Match(File.ReadAllText(path), @"^export const BATCH_DELAY_MS = (\d+);\r?$", RegexOptions.Multiline);
        return match.Success
            ? TimeSpan.FromMilliseconds(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture))
            : throw new InvalidOperationException($"{path} no longer says `export const BATCH_DELAY_MS = <ms>;`, which tests and benchmarks read.");
    }
}
