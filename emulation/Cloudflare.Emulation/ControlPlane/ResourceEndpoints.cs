using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>D1 databases, R2 buckets and KV namespaces: Cloudflare's v4 routes, answered locally, and what they share.</summary>
internal static partial class ResourceEndpoints
{
    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts, ResidencyPolicy residency,
        D1Transfers transfers)
    {
        D1Endpoints.Map(account, store, supervisor, hosts, residency, transfers);
        R2Endpoints.Map(account, store, supervisor, hosts, residency);
        KvEndpoints.Map(account, store, supervisor, hosts);
    }

    /// <summary>Deletes a resource and its data — unless a deployed script is bound to it. Its own stack, if it has one, lets go of its files first.</summary>
    public static async Task<IResult> DeleteAsync(ControlPlaneStore store, ResourceHosts hosts, ResourceRef resource, Func<ControlPlaneSnapshot, bool> exists,
        Func<ControlPlaneSnapshot, ControlPlaneSnapshot> remove, string what, CancellationToken cancellationToken)
    {
        if (store.Snapshot.Scripts.All(s => !s.Bindings.Any(resource.IsBoundBy)))
        {
            await hosts.StopAsync(resource, cancellationToken);
        }
        var outcome = store.Update(s =>
        {
            if (!exists(s))
            {
                return (s, "missing");
            }
            var user = s.Scripts.FirstOrDefault(script => script.Bindings.Any(resource.IsBoundBy));
            return user is not null ? (s, $"bound:{user.Name}") : (remove(s), "deleted");
        });
        if (outcome == "missing")
        {
            return Api.NotFound(what);
        }
        if (outcome.StartsWith("bound:", StringComparison.Ordinal))
        {
            return Api.Error(StatusCodes.Status409Conflict, Api.InUse, $"{what} is bound to script {outcome[6..]}; delete the script first");
        }
        var dir = store.ResourceDirectory(resource.Folder, resource.Id);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        return Api.Ok(null);
    }

    /// <summary>A resource outside the residency policy's jurisdictions is refused (403), naming the field and the fix.</summary>
    public static IResult ResidencyRefused(string field, string? jurisdiction, ResidencyPolicy residency) =>
        Api.Error(StatusCodes.Status403Forbidden, Api.ResidencyPolicy,
            $"{field}: '{jurisdiction ?? "none"}' is outside the residency policy; create it in {string.Join(" or ", residency.Jurisdictions)} (Harness:Residency:Jurisdictions)");

    /// <summary>
    /// The rest of the request target after <paramref name="marker"/>, decoded once: an object or key
    /// name exactly as the client encoded it ('/', '%', '+' and '?' included), which ASP.NET's decoded
    /// path and route values would change. Null when the marker is not in the target.
    /// </summary>
    public static string? RawTail(HttpContext context, string marker)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var path = target.Split('?', 2)[0];
        var at = path.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? null : Uri.UnescapeDataString(path[(at + marker.Length)..]);
    }

    /// <summary>
    /// The request body with its length known, as a Worker's R2 and KV bindings need it: streamed
    /// when the client sent a length, else buffered first (to disk past a small size).
    /// </summary>
    public static async Task<HttpContent> SizedBodyAsync(HttpRequest request)
    {
        if (request.ContentLength is not { } length)
        {
            request.EnableBuffering();
            await request.Body.DrainAsync(request.HttpContext.RequestAborted);
            request.Body.Position = 0;
            length = request.Body.Length;
        }
        var content = new StreamContent(request.Body);
        content.Headers.ContentLength = length;
        return content;
    }

    /// <summary>An answer's JSON body (an empty object when it has none).</summary>
    public static async Task<JsonElement> JsonOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(new { error = $"answered {(int)response.StatusCode} without JSON" });
        }
    }

    internal static async Task<JsonElement?> ReadJsonAsync(HttpRequest request)
    {
        try
        {
            var element = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
            return element.ValueKind == JsonValueKind.Object ? element : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string field's value; null when it is not a string (a number, an object), so the caller answers 400, not 500.</summary>
    internal static string? Text(this JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    internal static object? Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    internal static partial Regex ResourceName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    internal static partial Regex BucketName();
}
