namespace Cloudflare.Emulation.Scenarios;

/// <summary>
/// A run's timeline as a PNG: each tenant's median latency per second of its successful requests
/// (left axis; a gap where none succeeded) and failed requests per second (right axis, markers), the span from the first to the last step shaded, and a
/// line at each step.
/// </summary>
public static class ScenarioTimeline
{
    public static void Write(ScenarioReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        plot.Title($"Scenario {report.Scenario}");
        plot.XLabel("seconds into the run");
        plot.YLabel("p50 latency of successful requests (ms)");
        plot.Axes.Right.Label.Text = "failed requests / s";
        if (report.Steps.Count > 0)
        {
            var span = plot.Add.HorizontalSpan(report.Steps.Min(s => s.At), Math.Max(report.Steps.Max(s => s.DoneAt), report.Steps.Min(s => s.At) + 0.2));
            span.FillStyle.Color = ScottPlot.Colors.Orange.WithAlpha(0.15);
            span.LineStyle.Width = 0;
            foreach (var step in report.Steps)
            {
                var line = plot.Add.VerticalLine(step.At);
                line.Color = ScottPlot.Colors.OrangeRed;
                line.LinePattern = ScottPlot.LinePattern.Dashed;
                line.Text = step.Action;
                line.LabelOppositeAxis = true;
            }
        }
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var tenant in report.Tenants)
        {
            var color = palette.GetColor(index++);
            var points = report.Timeline.Where(p => p.Account == tenant.Account).OrderBy(p => p.Second).ToList();
            if (points.Count == 0)
            {
                continue;
            }
            var latency = plot.Add.Scatter(points.Select(p => (double)p.Second).ToArray(), points.Select(p => p.P50Ms ?? double.NaN).ToArray());
            latency.Color = color;
            latency.LegendText = $"{tenant.Account} ({tenant.Role})";
            var failures = points.Where(p => p.Errors > 0).ToList();
            if (failures.Count > 0)
            {
                var errors = plot.Add.ScatterPoints(failures.Select(p => (double)p.Second).ToArray(), failures.Select(p => (double)p.Errors).ToArray());
                errors.Color = color;
                errors.MarkerShape = ScottPlot.MarkerShape.Cross;
                errors.MarkerSize = 10;
                errors.Axes.YAxis = plot.Axes.Right;
                errors.LegendText = $"{tenant.Account} failed/s";
            }
        }
        // Both axes from zero: a dip in latency or a few failures should look like what they are.
        plot.Axes.AutoScale();
        var slowest = report.Timeline.Select(p => p.P50Ms ?? 0).DefaultIfEmpty(1).Max();
        var mostFailed = report.Timeline.Select(p => p.Errors).DefaultIfEmpty(0).Max();
        plot.Axes.SetLimitsY(0, slowest * 1.15, plot.Axes.Left);
        plot.Axes.SetLimitsY(0, Math.Max(mostFailed, 1) * 1.15, plot.Axes.Right);
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        plot.SavePng(path, 1200, 600);
    }
}
