using Cloudflare.Emulation.Configuration;
using Emulation.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Emulation.Tests.Unit;

public sealed class HarnessOptionsTests
{
    private static HarnessOptions Load(params string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddCommandLine(args, HarnessOptions.CommandLineOptions.ToDictionary())
            .Build();
        return HarnessOptions.Load(configuration, RepositoryPaths.Root);
    }

    [Fact]
    public void Defaults_are_three_accounts_and_a_state_root_inside_the_repository()
    {
        var options = Load();
        Assert.Equal(3, options.Accounts);
        Assert.Equal(Path.Combine(RepositoryPaths.Root, ".state"), options.StateRoot);
        Assert.Equal(RepositoryPaths.Workers, options.WorkersDirectory);
        Assert.Equal(0, options.PlatformPort);
        Assert.False(options.HotReload);
    }

    [Fact]
    public void Command_line_options_map_to_settings()
    {
        var options = Load("--accounts", "7", "--state-root", "/tmp/x", "--platform-port", "8787", "--hot-reload", "true");
        Assert.Equal(7, options.Accounts);
        Assert.Equal("/tmp/x", options.StateRoot);
        Assert.Equal(8787, options.PlatformPort);
        Assert.True(options.HotReload);
    }

    [Fact]
    public void Relative_state_root_is_resolved_against_the_repository()
    {
        Assert.Equal(Path.Combine(RepositoryPaths.Root, "my-state"), Load("--state-root", "my-state").StateRoot);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("201")]
    public void Account_count_out_of_range_names_the_option_and_the_range(string value)
    {
        var error = Assert.Throws<HarnessConfigurationException>(() => Load("--accounts", value));
        Assert.Equal("--accounts", error.Setting);
        Assert.Contains("between 0 and 200", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_numeric_account_count_names_the_option()
    {
        var error = Assert.Throws<HarnessConfigurationException>(() => Load("--accounts", "three"));
        Assert.Equal("--accounts", error.Setting);
        Assert.Contains("'three'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_port_names_the_option()
    {
        var error = Assert.Throws<HarnessConfigurationException>(() => Load("--platform-port", "70000"));
        Assert.Equal("--platform-port", error.Setting);
    }

    [Fact]
    public void Unknown_option_is_rejected_with_the_known_ones_listed()
    {
        var error = Assert.Throws<HarnessConfigurationException>(() => HarnessOptions.RejectUnknownArguments(["--acounts", "3"]));
        Assert.Equal("--acounts", error.Setting);
        Assert.Contains("--accounts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Known_options_and_configuration_keys_pass()
    {
        HarnessOptions.RejectUnknownArguments(["--accounts", "2", "--Harness:HotReload=false", "--state-root=/tmp/s", "positional"]);
    }

    [Fact]
    public void Workers_directory_without_package_json_is_rejected()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Harness:WorkersDirectory"] = Path.GetTempPath(),
        }).Build();
        var error = Assert.Throws<HarnessConfigurationException>(() => HarnessOptions.Load(configuration, RepositoryPaths.Root));
        Assert.Equal("Harness:WorkersDirectory", error.Setting);
    }
}
