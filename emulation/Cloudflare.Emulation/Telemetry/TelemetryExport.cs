using Cloudflare.Emulation.Configuration;
using Microsoft.Extensions.Configuration;

namespace Cloudflare.Emulation.Telemetry;

/// <summary>
/// Where the harness's telemetry goes (ADR 0036): an OTLP/HTTP endpoint and the headers it asks for.
/// Both the runtime host (every Worker's spans, logs and metrics, as OTLP JSON) and the local
/// Cloudflare API (.NET's OpenTelemetry SDK, OTLP protobuf) send there, configured as OpenTelemetry
/// SDKs are: through the standard OTEL_EXPORTER_OTLP_* settings.
/// </summary>
public sealed record TelemetryExport(Uri Endpoint, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>The Aspire dashboard's OTLP/HTTP endpoint, as the AppHost's launch profile sets it.</summary>
    public const string DashboardEndpointSetting = "ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL";

    /// <summary>The key the dashboard wants on every export (Aspire makes one per run).</summary>
    public const string DashboardApiKeySetting = "AppHost:OtlpApiKey";

    /// <summary>
    /// The export the harness's options ask for: none with --telemetry false; the endpoint given in
    /// Harness:TelemetryEndpoint; otherwise the dashboard's, when the AppHost runs one. A dashboard
    /// endpoint over https is refused with its fix: the Workers' relays and the runtime host export over
    /// plain HTTP, so their telemetry would be lost with nothing shown but a warning.
    /// </summary>
    public static TelemetryExport? Resolve(HarnessOptions options, IConfiguration configuration, bool dashboardRuns)
    {
        if (!options.Telemetry)
        {
            return null;
        }
        if (options.TelemetryEndpoint is { } endpoint)
        {
            return new TelemetryExport(endpoint, new Dictionary<string, string>());
        }
        if (!dashboardRuns || configuration[DashboardEndpointSetting] is not { Length: > 0 } dashboard
            || !Uri.TryCreate(dashboard, UriKind.Absolute, out var dashboardUri) || !dashboardUri.IsLoopback)
        {
            return null;
        }
        if (dashboardUri.Scheme != Uri.UriSchemeHttp)
        {
            throw new HarnessConfigurationException(DashboardEndpointSetting,
                $"the harness exports its Workers' telemetry over plain HTTP on loopback, got '{dashboard}'. Run the AppHost's 'http' launch profile, "
                + "set it to an http URL (e.g. http://127.0.0.1:18890, with ASPIRE_ALLOW_UNSECURED_TRANSPORT=true), send telemetry elsewhere with "
                + "--Harness:TelemetryEndpoint=http://127.0.0.1:4318, or turn it off with --telemetry false.");
        }
        var key = configuration[DashboardApiKeySetting];
        return new TelemetryExport(dashboardUri, string.IsNullOrEmpty(key)
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { ["x-otlp-api-key"] = key });
    }

    /// <summary>OTEL_EXPORTER_OTLP_HEADERS: key=value pairs, comma-separated, values URL-encoded.</summary>
    public string HeaderList => string.Join(",", Headers.Select(h => $"{h.Key}={Uri.EscapeDataString(h.Value)}"));

    /// <summary>
    /// The OpenTelemetry settings of a process that exports here, as environment variables or
    /// configuration keys (the protocol differs: the runtime host sends JSON, .NET's exporter protobuf).
    /// </summary>
    public IReadOnlyDictionary<string, string?> Settings(string serviceName, string protocol) => new Dictionary<string, string?>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_HEADERS"] = HeaderList,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
        ["OTEL_SERVICE_NAME"] = serviceName,
    };

    /// <summary>What the runtime host reads (it always sends OTLP JSON, one resource per stack): the endpoint and its headers.</summary>
    public IReadOnlyDictionary<string, string?> RuntimeHostSettings => new Dictionary<string, string?>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Endpoint.ToString().TrimEnd('/'),
        ["OTEL_EXPORTER_OTLP_HEADERS"] = HeaderList,
    };

    /// <summary>What turns a process's export off (no endpoint): the runtime host's when telemetry is off.</summary>
    public static IReadOnlyDictionary<string, string?> Off { get; } = new Dictionary<string, string?>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        ["OTEL_EXPORTER_OTLP_HEADERS"] = null,
    };
}
