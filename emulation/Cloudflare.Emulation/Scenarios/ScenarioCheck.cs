using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Hosting;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.DependencyInjection;

namespace Cloudflare.Emulation.Scenarios;

/// <summary>
/// The harness run once as a scenario (`dotnet run --project AppHost -- --scenario scenarios/NAME.json`):
/// a fresh harness of its own (under &lt;state&gt;/scenario-runs/NAME, so a harness already running on the
/// state root is untouched) with the accounts the scenario needs; the run; its table on the console,
/// its report and timeline under &lt;state&gt;/reports. Exit code 0 when every assertion holds, 1 otherwise.
/// </summary>
public static class ScenarioCheck
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The options for the scenario's own harness: its own fresh state root and accounts.</summary>
    public static HarnessOptions OptionsFor(HarnessOptions options, Scenario scenario) => options with
    {
        StateRoot = Path.Combine(options.StateRoot, "scenario-runs", scenario.Name),
        ResetState = true,
        HotReload = false,
        Accounts = scenario.Accounts,
    };

    /// <summary>Where a scenario's report and timeline go.</summary>
    public static (string Json, string Png) ReportPaths(string stateRoot, string name) =>
        (Path.Combine(stateRoot, "reports", $"scenario-{name}.json"), Path.Combine(stateRoot, "reports", $"scenario-{name}.png"));

    public static async Task<int> RunAsync(DistributedApplication app, Scenario scenario, string reportsRoot, TextWriter output)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        output.WriteLine($"Scenario {scenario.Name}: starting a harness with {scenario.Accounts} account(s)…");
        await app.StartAsync(timeout.Token);
        try
        {
            var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
            var stacks = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<WorkerStackResource>().ToList();
            try
            {
                await Task.WhenAll(stacks.Select(s => notifications.WaitForResourceHealthyAsync(s.Name, timeout.Token)));
            }
            catch (OperationCanceledException)
            {
                output.WriteLine($"Scenario {scenario.Name} failed: the stacks were not all healthy within {StartTimeout.TotalMinutes:0} minutes.");
                return 1;
            }
            output.WriteLine($"Scenario {scenario.Name}: {scenario.Traffic.Seconds} s of traffic, {scenario.Steps.Count} step(s)…");
            var report = await RunnerOf(app.Services).RunAsync(scenario, CancellationToken.None);
            var (json, png) = ReportPaths(reportsRoot, scenario.Name);
            report.WriteJson(json);
            ScenarioTimeline.Write(report, png);
            output.Write(report.ToTable(json, png));
            return report.Passed ? 0 : 1;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A runner for the harness these services belong to (the platform and the API must be up).</summary>
    internal static ScenarioRunner RunnerOf(IServiceProvider services)
    {
        var run = services.GetRequiredService<HarnessRun>();
        var api = services.GetRequiredService<ControlPlaneHandle>().Server ?? throw new InvalidOperationException("the local Cloudflare API is not running");
        var platform = run.PlatformUrl() ?? throw new InvalidOperationException("the platform is not running");
        return new ScenarioRunner(platform, run.AdminToken, api, services.GetRequiredService<StackSupervisor>(), services.GetRequiredService<TokenIssuer>());
    }
}
