using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// Cloudflare for SaaS on the tenants' zone: <c>/zones/{zone}/custom_hostnames</c> (create, list with
/// pagination and a hostname filter, get, patch, delete) in the v4 API's shapes. A new hostname is
/// <c>pending</c> with the records its owner must publish — the ownership TXT record and the
/// certificate's validation (TXT or HTTP) — until <c>POST /__emulator/zones/{zone}/custom_hostnames/{id}/verify</c>
/// says they were published; then it, and its certificate, are <c>active</c>. The local API stands in
/// for Cloudflare's DNS checks, which cannot run here.
/// </summary>
internal static class CustomHostnameEndpoints
{
    /// <summary>Cloudflare's code for a host name another custom hostname of the zone already has.</summary>
    public const int Duplicate = 1406;

    public static void Map(IEndpointRouteBuilder app, ControlPlaneStore store, string zoneName)
    {
        var zoneId = ZoneEndpoints.ZoneIdOf(zoneName);
        var zone = app.MapGroup("/client/v4/zones/{zone}/custom_hostnames").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.RouteValues["zone"] as string == zoneId ? await next(context) : Api.NotFound($"zone {context.HttpContext.Request.RouteValues["zone"]}"));

        zone.MapPost("", async (HttpRequest request) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is not { } json)
            {
                return Api.Invalid("body: a JSON object with hostname and ssl is required");
            }
            var (hostname, problem) = CustomHostnameRules.Check(json.TryGetProperty("hostname", out var h) ? h.Text() : null, zoneName);
            if (hostname is null)
            {
                return Api.Invalid(problem!);
            }
            var (method, sslProblem) = SslMethod(json);
            if (method is null)
            {
                return Api.Invalid(sslProblem!);
            }
            var (metadata, metadataProblem) = Metadata(json);
            if (metadataProblem is not null)
            {
                return Api.Invalid(metadataProblem);
            }
            var record = new CustomHostnameRecord(Guid.NewGuid().ToString(), hostname, method, Guid.NewGuid().ToString(), Guid.NewGuid().ToString("N"),
                metadata, DateTimeOffset.UtcNow);
            var created = store.Update(s => s.AllCustomHostnames.Any(x => x.Hostname == hostname)
                ? (s, false)
                : (s with { CustomHostnames = [.. s.AllCustomHostnames, record] }, true));
            return created
                ? Api.Ok(Result(record), StatusCodes.Status201Created)
                : Api.Error(StatusCodes.Status409Conflict, Duplicate, $"hostname: Duplicate custom hostname found ({hostname} is another custom hostname of this zone)");
        }).WithName("custom_hostnames.create");

        zone.MapGet("", (HttpRequest request) =>
        {
            IEnumerable<CustomHostnameRecord> all = store.Snapshot.AllCustomHostnames;
            if (request.Query.TryGetValue("hostname", out var name) && !string.IsNullOrEmpty(name))
            {
                all = all.Where(x => x.Hostname == name.ToString().ToLowerInvariant().TrimEnd('.'));
            }
            if (request.Query.TryGetValue("id", out var id) && !string.IsNullOrEmpty(id))
            {
                all = all.Where(x => x.Id == id);
            }
            return Api.Paged([.. all.OrderBy(x => x.Hostname, StringComparer.Ordinal).Select(Result)], request, defaultPerPage: 20, maxPerPage: 50);
        }).WithName("custom_hostnames.list");

        zone.MapGet("/{id}", (string id) =>
            store.Snapshot.AllCustomHostnames.FirstOrDefault(x => x.Id == id) is { } record ? Api.Ok(Result(record)) : Api.NotFound($"custom hostname {id}"))
            .WithName("custom_hostnames.get");

        zone.MapMethods("/{id}", ["PATCH"], async (string id, HttpRequest request) =>
        {
            if (await ResourceEndpoints.ReadJsonAsync(request) is not { } json)
            {
                return Api.Invalid("body: a JSON object (ssl, custom_metadata) is required");
            }
            string? method = null;
            if (json.TryGetProperty("ssl", out _))
            {
                (method, var sslProblem) = SslMethod(json);
                if (method is null)
                {
                    return Api.Invalid(sslProblem!);
                }
            }
            var (metadata, metadataProblem) = Metadata(json);
            if (metadataProblem is not null)
            {
                return Api.Invalid(metadataProblem);
            }
            CustomHostnameRecord? updated = null;
            store.Update(s =>
            {
                if (s.AllCustomHostnames.FirstOrDefault(x => x.Id == id) is not { } current)
                {
                    return (s, false);
                }
                // A new validation method is a new certificate order: validated again.
                updated = current with
                {
                    SslMethod = method ?? current.SslMethod,
                    CustomMetadata = json.TryGetProperty("custom_metadata", out _) ? metadata : current.CustomMetadata,
                    VerifiedAt = method is not null && method != current.SslMethod ? null : current.VerifiedAt,
                };
                return (s with { CustomHostnames = [.. s.AllCustomHostnames.Select(x => x.Id == id ? updated : x)] }, true);
            });
            return updated is null ? Api.NotFound($"custom hostname {id}") : Api.Ok(Result(updated));
        }).WithName("custom_hostnames.edit");

        zone.MapDelete("/{id}", (string id) =>
        {
            // Its Regional Services setting is the caller's to delete (a separate resource).
            var removed = store.Update(s => s.AllCustomHostnames.Any(x => x.Id == id)
                ? (s with { CustomHostnames = [.. s.AllCustomHostnames.Where(x => x.Id != id)] }, true)
                : (s, false));
            return removed ? Api.Ok(new { id }) : Api.NotFound($"custom hostname {id}");
        }).WithName("custom_hostnames.delete");

        app.MapPost("/__emulator/zones/{zone}/custom_hostnames/{id}/verify", (string zone, string id) =>
        {
            if (zone != zoneId)
            {
                return Api.NotFound($"zone {zone}");
            }
            return Verify(store, id) is { } verified ? Api.Ok(Result(verified)) : Api.NotFound($"custom hostname {id}");
        }).WithName("emulator.custom_hostnames.verify");
    }

    /// <summary>
    /// The hostname's ownership and validation records taken as published: it and its certificate
    /// become active (the route above, and the dashboard's "Verify custom hostname…"). Null: no such hostname.
    /// </summary>
    public static CustomHostnameRecord? Verify(ControlPlaneStore store, string id)
    {
        CustomHostnameRecord? verified = null;
        store.Update(s =>
        {
            if (s.AllCustomHostnames.FirstOrDefault(x => x.Id == id) is not { } current)
            {
                return (s, false);
            }
            verified = current with { VerifiedAt = current.VerifiedAt ?? DateTimeOffset.UtcNow };
            return (s with { CustomHostnames = [.. s.AllCustomHostnames.Select(x => x.Id == id ? verified : x)] }, true);
        });
        return verified;
    }

    /// <summary>ssl.method (txt or http; DV certificates only), or what is wrong with it.</summary>
    private static (string? Method, string? Problem) SslMethod(JsonElement json)
    {
        if (!json.TryGetProperty("ssl", out var ssl) || ssl.ValueKind != JsonValueKind.Object)
        {
            return (null, "ssl: an object with method (txt or http) and type (dv) is required");
        }
        var method = ssl.TryGetProperty("method", out var m) ? m.Text() : null;
        if (method is not ("txt" or "http"))
        {
            return (null, "ssl.method: txt or http (how the certificate's domain control is validated)");
        }
        if (ssl.TryGetProperty("type", out var t) && t.Text() != "dv")
        {
            return (null, "ssl.type: dv (domain-validated) is the only type");
        }
        return (method, null);
    }

    /// <summary>custom_metadata: an object of string values, or none.</summary>
    private static (IReadOnlyDictionary<string, string>? Metadata, string? Problem) Metadata(JsonElement json)
    {
        if (!json.TryGetProperty("custom_metadata", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }
        if (element.ValueKind != JsonValueKind.Object || element.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
        {
            return (null, "custom_metadata: an object of string values");
        }
        return (element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), null);
    }

    /// <summary>The hostname as Cloudflare answers it: status, certificate, and the records its owner must publish while pending.</summary>
    private static object Result(CustomHostnameRecord r)
    {
        var validation = r.SslMethod == "txt"
            ? (object)new { txt_name = $"_acme-challenge.{r.Hostname}", txt_value = r.ValidationToken, status = r.Active ? "active" : "pending" }
            : new { http_url = $"http://{r.Hostname}/.well-known/acme-challenge/{r.ValidationToken[..16]}", http_body = r.ValidationToken, status = r.Active ? "active" : "pending" };
        return new Dictionary<string, object?>
        {
            ["id"] = r.Id,
            ["hostname"] = r.Hostname,
            ["status"] = r.Active ? "active" : "pending",
            ["ssl"] = new Dictionary<string, object?>
            {
                ["id"] = r.ValidationToken[..32],
                ["type"] = "dv",
                ["method"] = r.SslMethod,
                ["status"] = r.Active ? "active" : "pending_validation",
                ["bundle_method"] = "ubiquitous",
                ["wildcard"] = false,
                ["settings"] = new { min_tls_version = "1.2" },
                ["validation_records"] = r.Active ? Array.Empty<object>() : [validation],
            },
            ["ownership_verification"] = new { type = "txt", name = $"_cf-custom-hostname.{r.Hostname}", value = r.OwnershipToken },
            ["ownership_verification_http"] = new { http_url = $"http://{r.Hostname}/.well-known/cf-custom-hostname-challenge/{r.Id}", http_body = r.OwnershipToken },
            ["verification_errors"] = r.Active ? null : new[] { "custom hostname does not CNAME to this zone." },
            ["custom_metadata"] = r.CustomMetadata,
            ["created_at"] = r.CreatedAt,
        };
    }
}
