using Cloudflare.Emulation.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

try
{
    HarnessOptions.RejectUnknownArguments(args);
    // A residency check runs headless: no dashboard, exit code for CI.
    var check = args.Any(a => a.StartsWith("--residency-report", StringComparison.Ordinal));
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
