using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Telemetry;
using Emulation.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Emulation.Tests.Unit;

/// <summary>Where telemetry goes (ADR 0036): the dashboard's endpoint with its key, another on loopback, or nowhere.</summary>
public sealed class TelemetryExportTests
{
    private static IConfiguration Configuration(params string[] args) => WithDashboard("http://127.0.0.1:18890", args);

    private static IConfiguration WithDashboard(string dashboardEndpoint, params string[] args) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            [TelemetryExport.DashboardEndpointSetting] = dashboardEndpoint,
            [TelemetryExport.DashboardApiKeySetting] = "key with=signs",
        })
        .AddCommandLine(args, HarnessOptions.CommandLineOptions.ToDictionary())
        .Build();

    private static TelemetryExport? Resolve(bool dashboardRuns, params string[] args) => Resolve(Configuration(args), dashboardRuns);

    private static TelemetryExport? Resolve(IConfiguration configuration, bool dashboardRuns) =>
        TelemetryExport.Resolve(HarnessOptions.Load(configuration, RepositoryPaths.Root), configuration, dashboardRuns);

    [Fact]
    public void With_a_dashboard_telemetry_goes_to_its_otlp_endpoint_with_its_key()
    {
        var export = Resolve(dashboardRuns: true)!;
        Assert.Equal(new Uri("http://127.0.0.1:18890"), export.Endpoint);
        Assert.Equal("x-otlp-api-key=key%20with%3Dsigns", export.HeaderList);
        var settings = export.Settings("cloudflare-api", "http/protobuf");
        Assert.Equal(("http://127.0.0.1:18890", "http/protobuf", "cloudflare-api"),
            (settings["OTEL_EXPORTER_OTLP_ENDPOINT"], settings["OTEL_EXPORTER_OTLP_PROTOCOL"], settings["OTEL_SERVICE_NAME"]));
        Assert.Equal(["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"], export.RuntimeHostSettings.Keys.Order());
        Assert.Equal(export.HeaderList, export.RuntimeHostSettings["OTEL_EXPORTER_OTLP_HEADERS"]);
    }

    [Fact]
    public void Telemetry_false_or_no_dashboard_exports_nothing()
    {
        Assert.Null(Resolve(dashboardRuns: true, "--telemetry", "false"));
        Assert.Null(Resolve(dashboardRuns: false));
        Assert.Null(TelemetryExport.Off["OTEL_EXPORTER_OTLP_ENDPOINT"]);
    }

    [Fact]
    public void A_given_endpoint_wins_with_or_without_a_dashboard_unless_telemetry_is_off()
    {
        Assert.Equal(new Uri("http://127.0.0.1:4318/"), Resolve(false, "--Harness:TelemetryEndpoint=http://127.0.0.1:4318")!.Endpoint);
        Assert.Empty(Resolve(true, "--Harness:TelemetryEndpoint=http://localhost:4318")!.Headers);
        Assert.Null(Resolve(true, "--Harness:TelemetryEndpoint=http://127.0.0.1:4318", "--telemetry", "false"));
    }

    [Theory]
    [InlineData("https://otlp.example.com:4318")]
    [InlineData("http://10.0.0.5:4318")]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1/")]
    public void An_endpoint_off_the_machine_is_refused_naming_the_setting(string endpoint)
    {
        var error = Assert.Throws<HarnessConfigurationException>(() => Resolve(true, $"--Harness:TelemetryEndpoint={endpoint}"));
        Assert.Equal("Harness:TelemetryEndpoint", error.Setting);
        Assert.Contains("loopback", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dashboard_endpoint_over_https_is_refused_with_its_fix_unless_telemetry_is_off_or_another_endpoint_is_given()
    {
        var https = WithDashboard("https://localhost:21050");
        var error = Assert.Throws<HarnessConfigurationException>(() => Resolve(https, dashboardRuns: true));
        Assert.Equal(TelemetryExport.DashboardEndpointSetting, error.Setting);
        Assert.Contains("'http' launch profile", error.Message, StringComparison.Ordinal);
        Assert.Contains("--telemetry false", error.Message, StringComparison.Ordinal);
        Assert.Null(Resolve(WithDashboard("https://localhost:21050", "--telemetry", "false"), dashboardRuns: true));
        Assert.Equal(new Uri("http://127.0.0.1:4318/"), Resolve(WithDashboard("https://localhost:21050", "--Harness:TelemetryEndpoint=http://127.0.0.1:4318"), dashboardRuns: true)!.Endpoint);
    }

    [Fact]
    public void Telemetry_is_on_by_default_and_must_be_a_boolean()
    {
        Assert.True(HarnessOptions.Load(Configuration(), RepositoryPaths.Root).Telemetry);
        var error = Assert.Throws<HarnessConfigurationException>(() => HarnessOptions.Load(Configuration("--telemetry", "maybe"), RepositoryPaths.Root));
        Assert.Equal("--telemetry", error.Setting);
    }
}
