using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>
/// Every command icon the harness gives the dashboard is one the dashboard has: an unknown name
/// logs "Icon '…' could not be resolved" each time a row's menu opens.
/// </summary>
public sealed class DashboardIconsTests
{
    [Fact]
    public async Task Every_command_icon_is_one_the_dashboard_knows()
    {
        // The model the AppHost builds (nothing is started); rows made at run time share StackCommands.
        var builder = DistributedApplication.CreateBuilder();
        var cloudflare = builder.AddCloudflareEmulator("cloudflare", new HarnessOptions { StateRoot = RepositoryPaths.NewStateRoot("icons"), WorkersDirectory = RepositoryPaths.Workers, RuntimeHostScript = RepositoryPaths.RuntimeHostScript });
        cloudflare.AddPlatformStack("platform");
        cloudflare.AddAccountStack("account-1");
        var icons = builder.Resources.SelectMany(r => r.Annotations.OfType<ResourceCommandAnnotation>())
            .Select(c => c.IconName).OfType<string>().Distinct().ToList();
        Assert.Contains("ArrowCounterclockwise", icons); // the model was read, commands and all

        var known = await File.ReadAllBytesAsync(DashboardBinary());
        Assert.All(icons, icon => Assert.True(Knows(known, icon), $"the dashboard has no icon '{icon}'"));
        Assert.False(Knows(known, "Snowflake"));
    }

    /// <summary>The dashboard lists its icons' names, each after a byte that is twice its length.</summary>
    private static bool Knows(byte[] dashboard, string icon) =>
        dashboard.AsSpan().IndexOf([(byte)(2 * icon.Length), .. Encoding.ASCII.GetBytes(icon)]) >= 0;

    /// <summary>The dashboard this Aspire version runs (its NuGet package, restored with the AppHost).</summary>
    private static string DashboardBinary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var version = typeof(DistributedApplication).Assembly.GetName().Version!;
        var path = Path.Combine(packages, "aspire.dashboard.sdk.linux-x64", $"{version.Major}.{version.Minor}.{version.Build}", "tools", "Aspire.Dashboard");
        Assert.True(File.Exists(path), $"no dashboard at {path}");
        return path;
    }
}
