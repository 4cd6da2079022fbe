using System.Globalization;
using System.Text;

namespace Cloudflare.Emulation.Load;

/// <summary>A capacity run's years: the table, the summary line, report.md and its plots (storage.png, times.png).</summary>
public sealed record CapacityReport(CapacityOptions Options, IReadOnlyList<CapacityYearResult> Years)
{
    private const double MiB = 1024 * 1024;

    public string Table()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("| year | rows | D1 file (MiB) | of it, emulator log (MiB) | R2 (MiB) | list p95 (ms) | search p95 (ms) | export (ms) | restart (ms) | migration (ms) |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var y in Years)
        {
            text.AppendLine(inv, $"| {y.Year} | {y.Rows} | {y.D1Bytes / MiB:0.0} | {y.ReplicationLogBytes / MiB:0.0} | {y.R2Bytes / MiB:0} | {y.ListP95Ms:0.0} | {y.SearchP95Ms:0.0} | {(y.Problem is null ? y.ExportMs.ToString("0", inv) : "failed")} | {y.RestartMs:0} | {y.MigrationMs:0} |");
        }
        foreach (var y in Years.Where(y => y.Problem is not null))
        {
            text.AppendLine(inv, $"- year {y.Year}: {y.Problem}");
        }
        return text.ToString();
    }

    /// <summary>The last line, for machines: the final year's numbers.</summary>
    public string Summary
    {
        get
        {
            var last = Years[^1];
            return string.Create(CultureInfo.InvariantCulture,
                $"capacity years={last.Year} scale={Options.Scale} d1_mb={last.OwnD1Bytes / 1e6:0} d1_limit_pct={100.0 * last.OwnD1Bytes / CloudflarePricing.D1DatabaseBytes.Value:0.0} r2_mb={last.R2Bytes / 1e6:0} list_p95_ms={last.ListP95Ms:0.0} search_p95_ms={last.SearchP95Ms:0.0} export_ms={last.ExportMs:0} restart_ms={last.RestartMs:0} migration_ms={last.MigrationMs:0}");
        }
    }

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var years = Years.Select(y => (double)y.Year).ToArray();

        var storage = new ScottPlot.Plot();
        storage.Title(string.Create(CultureInfo.InvariantCulture,
            $"{Options.Account}: storage by year (scale {Options.Scale}); D1 at {100.0 * Years[^1].OwnD1Bytes / CloudflarePricing.D1DatabaseBytes.Value:0.0} % of its limit"));
        storage.XLabel("year");
        storage.YLabel("MiB");
        storage.Add.Scatter(years, Years.Select(y => y.OwnD1Bytes / MiB).ToArray()).LegendText = "D1 database (without the emulator's log)";
        storage.Add.Scatter(years, Years.Select(y => y.D1Bytes / MiB).ToArray()).LegendText = "D1 file here (with it)";
        storage.Add.Scatter(years, Years.Select(y => y.R2Bytes / MiB).ToArray()).LegendText = "R2 documents";
        // D1's limit, drawn when the database comes near enough for it to be read beside the data.
        var limitMiB = CloudflarePricing.D1DatabaseBytes.Value / MiB;
        if (Years.Max(y => y.D1Bytes) / MiB > limitMiB / 5)
        {
            var limit = storage.Add.HorizontalLine(limitMiB);
            limit.LegendText = "D1's size limit";
            limit.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        storage.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        storage.ShowLegend(ScottPlot.Alignment.UpperLeft);
        storage.SavePng(Path.Combine(directory, "storage.png"), 1000, 500);

        var times = new ScottPlot.Plot();
        times.Title($"{Options.Account}: what the full database costs, by year");
        times.XLabel("year");
        times.YLabel("milliseconds");
        times.Add.Scatter(years, Years.Select(y => y.ListP95Ms).ToArray()).LegendText = "list page p95";
        times.Add.Scatter(years, Years.Select(y => y.SearchP95Ms).ToArray()).LegendText = "search p95";
        // The export takes seconds where the rest take milliseconds: on its own axis, in seconds.
        var export = times.Add.Scatter(years, Years.Select(y => y.ExportMs / 1000).ToArray());
        export.LegendText = "full export (s, right axis)";
        export.Axes.YAxis = times.Axes.Right;
        times.Axes.Right.Label.Text = "export (seconds)";
        times.Add.Scatter(years, Years.Select(y => y.RestartMs).ToArray()).LegendText = "stack restart";
        times.Add.Scatter(years, Years.Select(y => y.MigrationMs).ToArray()).LegendText = "new migration (column + index)";
        times.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        times.ShowLegend(ScottPlot.Alignment.UpperLeft);
        times.SavePng(Path.Combine(directory, "times.png"), 1000, 500);

        File.WriteAllText(Path.Combine(directory, "report.md"), string.Create(CultureInfo.InvariantCulture, $"""
            # Capacity: {Options.Account}, {Years.Count} years at scale {Options.Scale}

            Each year adds {CapacityHistory.ClientsPerYear * Options.Scale:0} clients (with dependants, cases, tasks, contacts and their audit trail) and {CapacityHistory.DocumentsPerYear * Options.Scale:0} documents; then measures the whole account.
            List and search are the p95 of requests through the platform on a quiet system; the migration adds a generated column and its index to audit_events (the largest table).
            The D1 file here also holds the emulator's replication log; production's database is the file without it.

            {Table()}
            ![Storage by year](storage.png)

            ![Times by year](times.png)

            `{Summary}`
            """));
    }
}
