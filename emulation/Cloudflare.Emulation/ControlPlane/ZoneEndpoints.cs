using System.Security.Cryptography;
using System.Text;
using Cloudflare.Emulation.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The tenants' zone (one: the harness's tenant domain) and its Regional Services host names:
/// POST /zones/{zone}/addressing/regional_hostnames pins a host name to a region. The residency
/// policy names the one region tenants' host names may use (UK: gb); any other is refused.
/// </summary>
internal static class ZoneEndpoints
{
    /// <summary>The zone's id, stable for a zone name (as a zone keeps its id on Cloudflare).</summary>
    public static string ZoneIdOf(string zoneName) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"zone:{zoneName}")))[..32];

    public static void Map(IEndpointRouteBuilder app, ControlPlaneStore store, ResidencyPolicy residency, string zoneName)
    {
        var zoneId = ZoneIdOf(zoneName);
        app.MapGet("/client/v4/zones", () => Api.Ok(new[] { new { id = zoneId, name = zoneName, status = "active" } })).WithName("zones.list");
        var zone = app.MapGroup("/client/v4/zones/{zone}").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.RouteValues["zone"] as string == zoneId ? await next(context) : Api.NotFound($"zone {context.HttpContext.Request.RouteValues["zone"]}"));
        zone.MapGet("/addressing/regional_hostnames", () =>
            Api.Ok(store.Snapshot.AllRegionalHostnames.Select(Result))).WithName("regional_hostnames.list");
        zone.MapPost("/addressing/regional_hostnames", async (HttpRequest request) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            var hostname = body?.TryGetProperty("hostname", out var h) == true ? h.Text() : null;
            var region = body?.TryGetProperty("region_key", out var r) == true ? r.Text() : null;
            // A name of the zone, or one of its custom hostnames (Regional Services for SaaS).
            if (hostname is null || hostname.Length > 253
                || !(hostname.EndsWith("." + zoneName, StringComparison.Ordinal) || store.Snapshot.AllCustomHostnames.Any(c => c.Hostname == hostname)))
            {
                return Api.Invalid($"hostname: a host name in the zone {zoneName}, or one of its custom hostnames, is required");
            }
            if (region is null)
            {
                return Api.Invalid("region_key: a region key (e.g. gb, eu) is required");
            }
            if (region != residency.HostnameRegion)
            {
                return Api.Error(StatusCodes.Status403Forbidden, Api.ResidencyPolicy,
                    $"region_key: '{region}' is outside the residency policy; tenants' host names use '{residency.HostnameRegion}' (Harness:Residency:HostnameRegion)");
            }
            var record = new RegionalHostnameRecord(hostname, region, DateTimeOffset.UtcNow);
            var created = store.Update(s => s.AllRegionalHostnames.Any(x => x.Hostname == hostname)
                ? (s, false)
                : (s with { RegionalHostnames = [.. s.AllRegionalHostnames, record] }, true));
            return created
                ? Api.Ok(Result(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"hostname: {hostname} already has a region");
        }).WithName("regional_hostnames.create");
        zone.MapDelete("/addressing/regional_hostnames/{hostname}", (string hostname) =>
        {
            var removed = store.Update(s => s.AllRegionalHostnames.Any(x => x.Hostname == hostname)
                ? (s with { RegionalHostnames = [.. s.AllRegionalHostnames.Where(x => x.Hostname != hostname)] }, true)
                : (s, false));
            return removed ? Api.Ok(null) : Api.NotFound($"regional hostname {hostname}");
        }).WithName("regional_hostnames.delete");
    }

    private static object Result(RegionalHostnameRecord r) => new { hostname = r.Hostname, region_key = r.RegionKey, created_on = r.CreatedOn };
}
