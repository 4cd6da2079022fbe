using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Cloudflare.Emulation.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The local Cloudflare API: the subset of the v4 API that provisioning needs (D1, R2, KV, Worker
/// scripts), on a loopback port, with Cloudflare's envelope. Production code points its API base URL
/// at Cloudflare; locally it points here, so the same code path runs.
/// </summary>
public sealed class ControlPlaneServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ControlPlaneServer(WebApplication app, string accountId, string apiToken, ScriptDeployer deployer, ControlPlaneStore store)
    {
        _app = app;
        Store = store;
        AccountId = accountId;
        ApiToken = apiToken;
        Deployer = deployer;
    }

    /// <summary>The (local) Cloudflare account id every route is under.</summary>
    public string AccountId { get; }

    /// <summary>The bearer token the API accepts.</summary>
    public string ApiToken { get; }

    public ScriptDeployer Deployer { get; }

    /// <summary>The records of every resource and script created through the API.</summary>
    public ControlPlaneStore Store { get; }

    /// <summary>Audits every stack against the residency policy this API enforces.</summary>
    public Residency.ResidencyAuditor Residency { get; private init; } = null!;

    /// <summary>Snapshots of the whole state, taken and restored while the harness runs.</summary>
    public Snapshots.StateSnapshots Snapshots { get; private init; } = null!;

    /// <summary>Tenants' host names are &lt;slug&gt;.localhost locally (browsers resolve *.localhost to loopback).</summary>
    public const string DefaultZone = "localhost";

    /// <summary>The tenants' zone: its name and id.</summary>
    public string ZoneName { get; private init; } = DefaultZone;

    public string ZoneId { get; private init; } = "";

    /// <summary>R2's S3 API endpoint for every bucket (path style), e.g. http://127.0.0.1:PORT/cdn-cgi/local/r2/s3.</summary>
    public Uri S3Url => new(BaseUrl, S3Endpoint.BasePath);

    /// <summary>Base URL of the v4 API, e.g. http://127.0.0.1:PORT/client/v4.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The API's name in the dashboard and in its telemetry (its resource is the emulator's "-api" row).</summary>
    public const string ServiceName = "cloudflare-api";

    public static async Task<ControlPlaneServer> StartAsync(string stateRoot, StackSupervisor supervisor, int port, CancellationToken cancellationToken,
        ResidencyPolicy? residency = null, string zoneName = DefaultZone, TelemetryExport? telemetry = null)
    {
        residency ??= ResidencyPolicy.Default;
        var store = new ControlPlaneStore(stateRoot);
        var deployer = new ScriptDeployer(store, supervisor, residency);
        var (accountId, apiToken) = Credentials(stateRoot);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var listening = new StrongBox<int>();
        if (telemetry is not null)
        {
            // Traces (each API request, each provisioning step in the trace of the Worker that asked),
            // logs and metrics, set up as every Aspire service's are — scoped to this API: it shares the
            // AppHost's process with the dashboard's resource service and the harness's own clients.
            foreach (var (key, value) in telemetry.Settings(ServiceName, "http/protobuf"))
            {
                builder.Configuration[key] = value;
            }
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.ConfigureOpenTelemetry(new TelemetryScope(
                Requests: context => context.Connection.LocalPort == listening.Value,
                Outgoing: _ => Activity.Current?.Parent is not null,
                Sources: [HarnessTracing.SourceName]));
        }
        var app = builder.Build();

        // The emulator's own routes answer under the v4 base too (<cloudflare-api>/__emulator/…), as
        // its users reach them from the one URL they know.
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/client/v4/__emulator", out var rest))
            {
                context.Request.Path = "/__emulator" + rest;
            }
            return next(context);
        });
        app.Use(async (context, next) =>
        {
            // The S3 API authenticates with SigV4 (access keys), not with API bearer tokens; a D1
            // transfer's URL is its own permission, as a presigned URL is.
            if (context.Request.Path.StartsWithSegments(S3Endpoint.BasePath) || context.Request.Path.StartsWithSegments(D1Transfers.BasePath))
            {
                await next();
                return;
            }
            var header = context.Request.Headers.Authorization.FirstOrDefault();
            if (header is null || !CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(header), System.Text.Encoding.UTF8.GetBytes($"Bearer {apiToken}")))
            {
                await Api.Error(StatusCodes.Status401Unauthorized, Api.AuthenticationError, "Authentication error: a valid API token is required").ExecuteAsync(context);
                return;
            }
            await next();
        });
        var chaos = new Chaos.ChaosFaults(supervisor, stateRoot);
        await chaos.PushHopsAsync(cancellationToken);
        app.UseRouting();
        app.Use(async (context, next) =>
        {
            var operation = context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
            // The chaos API's rules and effect for the API itself, answered as Cloudflare answers (status, code, headers).
            var rule = operation is null ? null : chaos.Fire("api", "*", operation);
            if (operation is not null && chaos.DelayOf("api", rule) is { TotalMilliseconds: > 0 } delay)
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            if (rule?.Error is { } name && Chaos.FaultCatalogue.Find(name) is { Status: { } faultStatus } fault)
            {
                if (faultStatus == StatusCodes.Status429TooManyRequests)
                {
                    context.Response.Headers["retry-after"] = "300";
                    context.Response.Headers["ratelimit"] = "\"default\";r=0;t=300";
                    context.Response.Headers["ratelimit-policy"] = "\"default\";q=1200;w=300";
                }
                await Api.Error(faultStatus, fault.Code ?? 10000, fault.Message).ExecuteAsync(context);
                return;
            }
            await next();
        });
        ReplicationEndpoints.Map(app, supervisor);
        Chaos.ChaosEndpoints.Map(app, chaos);
        Chaos.StackControlEndpoints.Map(app, supervisor);
        var snapshots = new Cloudflare.Emulation.Snapshots.StateSnapshots(stateRoot, supervisor.WorkersDirectory, supervisor, store, deployer);
        Cloudflare.Emulation.Snapshots.SnapshotEndpoints.Map(app, snapshots);
        var auditor = new Residency.ResidencyAuditor(supervisor, store, residency, zoneName);
        ResidencyEndpoints.Map(app, supervisor, auditor, stateRoot);
        app.MapGet("/client/v4/user/tokens/verify", () => Api.Ok(new { id = "local", status = "active" }));
        // The one account this API serves, as clients list it before they know its id (wrangler, the
        // official client): paged like every Cloudflare list.
        var accountRecord = new { id = accountId, name = "Local emulator account", type = "standard", settings = new { enforce_twofactor = false }, created_on = "2026-01-01T00:00:00Z" };
        app.MapGet("/client/v4/accounts", (HttpRequest request) => Api.Paged([accountRecord], request, defaultPerPage: 20, maxPerPage: 50)).WithName("accounts.list");
        var account = app.MapGroup("/client/v4/accounts/{accountId}").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.RouteValues["accountId"] as string == accountId
                ? await next(context)
                : Api.Error(StatusCodes.Status403Forbidden, Api.AuthenticationError, "Authentication error: this token is not for that account"));
        account.MapGet("", () => Api.Ok(accountRecord)).WithName("accounts.get");
        var transfers = new D1Transfers(stateRoot);
        transfers.Map(app);
        ResourceEndpoints.Map(account, store, supervisor, deployer.Hosts, residency, transfers);
        ScriptEndpoints.Map(account, store, deployer, supervisor);
        DeployEndpoints.Map(account, store, deployer);
        TokenEndpoints.Map(account, store, deployer);
        S3Endpoint.Map(app, store, supervisor, deployer.Hosts, chaos);
        ZoneEndpoints.Map(app, store, residency, zoneName);
        CustomHostnameEndpoints.Map(app, store, zoneName);
        app.MapFallback(() => Api.Error(StatusCodes.Status404NotFound, 7000, "No route for that URI"));

        await app.StartAsync(cancellationToken);
        var server = new ControlPlaneServer(app, accountId, apiToken, deployer, store)
        {
            ZoneName = zoneName,
            ZoneId = ZoneEndpoints.ZoneIdOf(zoneName),
            Residency = auditor,
            Snapshots = snapshots,
        };
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        listening.Value = new Uri(address).Port;
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/client/v4/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        Deployer.Hosts.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The local account id and API token, made once per state root.</summary>
    private static (string AccountId, string Token) Credentials(string stateRoot)
    {
        var path = Path.Combine(stateRoot, "control-plane", "credentials");
        if (File.Exists(path) && File.ReadAllLines(path) is [var id, var token, ..])
        {
            return (id, token);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var created = (Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
        File.WriteAllLines(path, [created.Item1, created.Item2]);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return created;
    }
}
