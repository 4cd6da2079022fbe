using System.Globalization;
using System.Text;

namespace Cloudflare.Emulation.Load;

/// <summary>Requests of one kind (or all): how many, how many failed, latency percentiles from when each was due.</summary>
public sealed record LoadStats(string Operation, int Requests, int Errors, double P50Ms, double P95Ms, double P99Ms, double MaxMs)
{
    public static LoadStats Of(string operation, IEnumerable<LoadSample> samples)
    {
        var list = samples.ToList();
        var ms = list.Select(s => s.Milliseconds).Order().ToList();
        return new LoadStats(operation, list.Count, list.Count(s => s.Failed), At(ms, 0.50), At(ms, 0.95), At(ms, 0.99), ms.Count == 0 ? 0 : ms[^1]);
    }

    /// <summary>The exact percentile of sorted values (the runs are bounded; every sample is kept).</summary>
    private static double At(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}

/// <summary>A load run's outcome: overall and per kind of request, per second, and the summary line.</summary>
public sealed record LoadReport(LoadOptions Options, double Seconds, LoadStats Overall, IReadOnlyList<LoadStats> Operations, int ReadYourWritesViolations,
    IReadOnlyList<(int Second, LoadStats Stats)> PerSecond, IReadOnlyList<ProcessSample> Processes, CostProjection? Cost = null)
{
    /// <summary>Each kind of failure (request, status, what the answer said) with how often it came, most frequent first.</summary>
    public IReadOnlyList<(string What, int Count)> Failures { get; init; } = [];

    public static LoadReport From(LoadOptions options, LoadRun run, IReadOnlyList<ProcessSample>? processes = null, CostProjection? cost = null)
    {
        var samples = run.Samples.ToList();
        var seconds = Math.Max(1, options.Seconds);
        return new LoadReport(options, seconds, LoadStats.Of("all", samples),
            [.. samples.GroupBy(s => s.Operation).OrderByDescending(g => g.Count()).Select(g => LoadStats.Of(g.Key, g))],
            run.ReadYourWritesViolations,
            [.. samples.GroupBy(s => (int)s.DueSeconds).OrderBy(g => g.Key).Select(g => (g.Key, LoadStats.Of("all", g)))],
            processes ?? [], cost)
        {
            Failures = [.. samples.Where(s => s.Failed).GroupBy(s => $"{s.Operation} {s.Status}: {s.Failure}").Select(g => (g.Key, g.Count())).OrderByDescending(f => f.Item2)],
        };
    }

    /// <summary>Each process's mean and peak CPU (percent of one core) and peak memory over the run.</summary>
    public string ProcessTable()
    {
        if (Processes.Count == 0)
        {
            return "";
        }
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine("| process | mean CPU (% of a core) | peak CPU | peak RSS (MB) |");
        text.AppendLine("|---|---|---|---|");
        foreach (var process in Processes.GroupBy(p => p.Process))
        {
            text.AppendLine(inv, $"| {process.Key} | {process.Average(p => p.CpuPercent):0} | {process.Max(p => p.CpuPercent):0} | {process.Max(p => p.RssMegabytes):0} |");
        }
        return text.ToString();
    }

    public double RequestsPerSecond => Overall.Requests / Seconds;

    /// <summary>The last line a run prints, for machines: <c>load users=N rps=R p50_ms=… p95_ms=… p99_ms=… errors=E ryw_violations=V</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"load users={Options.Users} rps={RequestsPerSecond:0.0} p50_ms={Overall.P50Ms:0.0} p95_ms={Overall.P95Ms:0.0} p99_ms={Overall.P99Ms:0.0} errors={Overall.Errors} ryw_violations={ReadYourWritesViolations}");

    public string Table()
    {
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"| request | count | errors | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var s in Operations.Append(Overall))
        {
            text.AppendLine(inv, $"| {s.Operation} | {s.Requests} | {s.Errors} | {s.P50Ms:0.0} | {s.P95Ms:0.0} | {s.P99Ms:0.0} | {s.MaxMs:0.0} |");
        }
        return text.ToString();
    }

    /// <summary>Writes report.md and latency.png (percentiles, throughput and errors per second) into the folder.</summary>
    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var plot = new ScottPlot.Plot();
        plot.Title($"Load: {Options.Users} users, {Options.Think.TotalSeconds:0.#} s mean think, {Options.Account}");
        plot.XLabel("seconds into the run (when requests were due)");
        plot.YLabel("latency (ms)");
        plot.Axes.Right.Label.Text = "requests / s (line), failed / s (crosses)";
        var xs = PerSecond.Select(p => (double)p.Second).ToArray();
        foreach (var (name, pick) in new (string, Func<LoadStats, double>)[] { ("p50", s => s.P50Ms), ("p95", s => s.P95Ms), ("p99", s => s.P99Ms) })
        {
            plot.Add.Scatter(xs, PerSecond.Select(p => pick(p.Stats)).ToArray()).LegendText = name;
        }
        var rate = plot.Add.Scatter(xs, PerSecond.Select(p => (double)p.Stats.Requests).ToArray());
        rate.LegendText = "requests/s";
        rate.Axes.YAxis = plot.Axes.Right;
        rate.LinePattern = ScottPlot.LinePattern.Dotted;
        var failed = PerSecond.Where(p => p.Stats.Errors > 0).ToList();
        if (failed.Count > 0)
        {
            var errors = plot.Add.ScatterPoints(failed.Select(p => (double)p.Second).ToArray(), failed.Select(p => (double)p.Stats.Errors).ToArray());
            errors.MarkerShape = ScottPlot.MarkerShape.Cross;
            errors.LegendText = "failed/s";
            errors.Axes.YAxis = plot.Axes.Right;
        }
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(Path.Combine(directory, "latency.png"), 1200, 600);
        if (Processes.Count > 0)
        {
            var cpu = new ScottPlot.Plot();
            cpu.Title("CPU of each process (percent of one core; the machine has " + Environment.ProcessorCount + ")");
            cpu.XLabel("seconds into the run");
            cpu.YLabel("CPU (%)");
            foreach (var process in Processes.GroupBy(p => p.Process))
            {
                cpu.Add.Scatter(process.Select(p => p.Second).ToArray(), process.Select(p => p.CpuPercent).ToArray()).LegendText = process.Key;
            }
            cpu.ShowLegend(ScottPlot.Alignment.UpperLeft);
            cpu.SavePng(Path.Combine(directory, "processes.png"), 1200, 500);
        }
        File.WriteAllText(Path.Combine(directory, "report.md"), string.Create(CultureInfo.InvariantCulture, $"""
            # Load run: {Options.Users} users on {Options.Account}, {Options.Seconds} s, mean think {Options.Think.TotalSeconds:0.###} s

            {RequestsPerSecond:0.0} requests/s; {Overall.Errors} failed (5xx, 429 or no answer within 10 s); {ReadYourWritesViolations} read-your-writes violations.
            Latency counts from when each request was due (open model), through the platform.

            {Table()}
            {(Failures.Count == 0 ? "" : "Failures (request, status: what the answer said):\n\n" + string.Concat(Failures.Take(10).Select(f => $"- {f.Count} × {f.What}\n")))}
            ![Latency, throughput and errors per second](latency.png)

            {ProcessTable()}
            {(Processes.Count > 0 ? "![CPU of each process](processes.png)" : "")}

            {(Cost is null ? "" : "## What it would use and cost in production\n\n" + Cost.Table())}

            `{Summary}`
            """));
    }
}
