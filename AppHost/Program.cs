using Cloudflare.Emulation.Configuration;
using Microsoft.Extensions.Configuration;

try
{
    HarnessOptions.RejectUnknownArguments(args);
    var builder = DistributedApplication.CreateBuilder(args);
    builder.Configuration.AddCommandLine(args, HarnessOptions.CommandLineOptions.ToDictionary());
    var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
    var options = HarnessOptions.Load(builder.Configuration, repositoryRoot);
    HarnessPreflight.Run(options);

    var cloudflare = builder.AddCloudflareEmulator("cloudflare", options);
    cloudflare.AddPlatformStack("platform");
    for (var i = 1; i <= options.Accounts; i++)
    {
        cloudflare.AddAccountStack($"account-{i}");
    }

    builder.Build().Run();
    return 0;
}
catch (HarnessConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}
