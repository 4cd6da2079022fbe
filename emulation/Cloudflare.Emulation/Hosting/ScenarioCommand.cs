using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Scenarios;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// The emulator row's "Run scenario…": one of the repository's scenarios/*.json run against this
/// harness (its account-1 … account-N), the table in the row's log, the report and timeline under
/// &lt;state&gt;/reports — as `--scenario` does in a harness of its own.
/// </summary>
internal sealed class ScenarioCommand(HarnessRun run, HarnessOptions options, IInteractionService interactions, ResourceLoggerService loggers, IServiceProvider services)
{
    /// <summary>The repository's scenarios folder (beside workers/).</summary>
    private string Folder => Path.Combine(Path.GetDirectoryName(options.WorkersDirectory.TrimEnd(Path.DirectorySeparatorChar))!, "scenarios");

    public async Task<ExecuteCommandResult> RunAsync(CancellationToken cancellationToken)
    {
        if (run.Emulator is not { } emulator)
        {
            return CommandResults.Failure("The emulator is not running yet.");
        }
        var files = Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal).ToList() : [];
        if (files.Count == 0)
        {
            return CommandResults.Failure($"No scenarios in {Folder}.");
        }
        if (!interactions.IsAvailable)
        {
            return CommandResults.Failure("No dashboard to ask in: run dotnet run --project AppHost -- --scenario scenarios/NAME.json.");
        }
        var answer = await interactions.PromptInputAsync("Run scenario",
            "Traffic through the platform to account-1 … account-N of this harness while the scenario's steps fail parts of it; the table goes to this row's log.",
            new InteractionInput
            {
                Name = "scenario",
                Label = "Scenario",
                InputType = InputType.Choice,
                Required = true,
                Options = [.. files.Select(f => KeyValuePair.Create(f, Path.GetFileNameWithoutExtension(f)))],
            },
            cancellationToken: cancellationToken);
        if (answer.Canceled || answer.Data.Value is not { } file)
        {
            return CommandResults.Canceled();
        }
        var log = loggers.GetLogger(emulator);
        try
        {
            var scenario = Scenario.Load(file);
            log.LogInformation("Scenario {Name}: {Seconds} s of traffic, {Steps} step(s)…", scenario.Name, scenario.Traffic.Seconds, scenario.Steps.Count);
            var report = await ScenarioCheck.RunnerOf(services).RunAsync(scenario, cancellationToken);
            var (json, png) = ScenarioCheck.ReportPaths(options.StateRoot, scenario.Name);
            report.WriteJson(json);
            ScenarioTimeline.Write(report, png);
            log.LogInformation("{Table}", report.ToTable(json, png));
            return report.Passed
                ? CommandResults.Success($"Scenario {scenario.Name} passed (table in the log; report {json})")
                : CommandResults.Failure($"Scenario {scenario.Name} failed: {string.Join("; ", report.Assertions.Where(a => !a.Holds).Select(a => a.Assertion))}");
        }
        catch (Exception ex) when (ex is HarnessConfigurationException or InvalidOperationException or HttpRequestException or IOException)
        {
            log.LogError("{Message}", ex.Message);
            return CommandResults.Failure(ex.Message);
        }
    }
}
