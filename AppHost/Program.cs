using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Scenarios;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

try
{
    HarnessOptions.RejectUnknownArguments(args);
    // A residency check and a scenario run headless: no dashboard, exit code for CI.
    var check = args.Any(a => a.StartsWith("--residency-report", StringComparison.Ordinal) || a.StartsWith("--scenario", StringComparison.Ordinal));
    var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = args, DisableDashboard = check });
    builder.Configuration.AddCommandLine(args, HarnessOptions.CommandLineOptions.ToDictionary());
    if (check)
    {
        // The report is the output: keep start-up chatter (and not-yet-healthy probes) out of it.
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
    }
    var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
    var options = HarnessOptions.Load(builder.Configuration, repositoryRoot);
    // A scenario gets a fresh harness of its own with the accounts it needs; its reports go beside the state.
    var reportsRoot = options.StateRoot;
    var scenario = options.ScenarioPath is { } scenarioPath ? Scenario.Load(scenarioPath) : null;
    if (scenario is not null)
    {
        options = ScenarioCheck.OptionsFor(options, scenario);
    }
    HarnessPreflight.Run(options);

    // The start order: the emulator (runtime host, local Cloudflare API), then the platform, then
    // the accounts, each signed up through the platform.
    var cloudflare = builder.AddCloudflareEmulator("cloudflare", options);
    var platform = cloudflare.AddPlatformStack("platform");
    for (var i = 1; i <= options.Accounts; i++)
    {
        // A platform that fails fails its accounts too, rather than leaving them waiting.
        cloudflare.AddAccountStack($"account-{i}").WaitFor(platform, WaitBehavior.StopOnResourceUnavailable);
    }

    var app = builder.Build();
    if (scenario is not null)
    {
        return await ScenarioCheck.RunAsync(app, scenario, reportsRoot, Console.Out);
    }
    if (options.ResidencyReportPath is not null)
    {
        return await Cloudflare.Emulation.Residency.ResidencyCheck.RunAsync(app, options, Console.Out);
    }
    app.Run();
    return 0;
}
catch (HarnessConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
