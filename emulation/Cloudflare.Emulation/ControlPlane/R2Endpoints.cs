using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>R2's v4 routes: buckets (with jurisdiction), and objects put, read and deleted through the API as wrangler does.</summary>
internal static class R2Endpoints
{
    /// <summary>Cloudflare's R2 codes for a bucket or key that is not there.</summary>
    private const int NoSuchBucket = 10006;
    private const int NoSuchKey = 10007;

    /// <summary>The object headers an upload may set and a download gives back.</summary>
    private static readonly string[] ObjectHeaders = ["Content-Type", "Content-Language", "Content-Disposition", "Content-Encoding", "Cache-Control", "Expires"];

    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts, ResidencyPolicy residency)
    {
        account.MapGet("/r2/buckets", () => Api.Ok(new { buckets = store.Snapshot.Buckets.Select(Result) })).WithName("r2.list");
        account.MapPost("/r2/buckets", async (HttpRequest request) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("name", out var nameElement) || nameElement.Text() is not { Length: > 0 } name)
            {
                return Api.Invalid("name: a bucket name is required");
            }
            if (!ResourceEndpoints.BucketName().IsMatch(name))
            {
                return Api.Invalid("name: 3-63 lowercase letters, digits and '-', starting and ending with a letter or digit");
            }
            var jurisdiction = JurisdictionOf(request);
            if (jurisdiction is not ("default" or "eu" or "fedramp"))
            {
                return Api.Invalid($"cf-r2-jurisdiction: '{jurisdiction}' is not an R2 jurisdiction (default, eu, fedramp)");
            }
            if (!residency.AllowsJurisdiction(jurisdiction))
            {
                return ResourceEndpoints.ResidencyRefused("cf-r2-jurisdiction", jurisdiction, residency);
            }
            // Its own stack would take the name of a deployed Worker (ResourceHosts): refused, as the
            // Worker's stack must never be taken for the bucket's.
            if (store.Snapshot.Scripts.FirstOrDefault(x => x.Name == ResourceHosts.HostName(ResourceRef.Bucket(name))) is { } worker)
            {
                return Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"name: a bucket named '{name}' would be served by a stack named like the Worker '{worker.Name}'; choose another name");
            }
            var hint = body.Value.TryGetProperty("locationHint", out var h) ? h.Text() : null;
            var record = new R2BucketRecord(name, jurisdiction, hint, DateTimeOffset.UtcNow);
            var created = store.Update(s => s.Buckets.Any(b => b.Name == name)
                ? (s, false)
                : (s with { Buckets = [.. s.Buckets, record] }, true));
            return created
                ? Api.Ok(Result(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"name: a bucket named '{name}' already exists");
        }).WithName("r2.create");
        account.MapGet("/r2/buckets/{name}", (string name, HttpRequest request) =>
            Find(store, name, request) is { } bucket ? Api.Ok(Result(bucket)) : BucketMissing()).WithName("r2.get");
        account.MapDelete("/r2/buckets/{name}", (string name, CancellationToken ct) =>
            ResourceEndpoints.DeleteAsync(store, hosts, ResourceRef.Bucket(name),
                s => s.Buckets.Any(b => b.Name == name),
                s => s with { Buckets = [.. s.Buckets.Where(b => b.Name != name)] }, $"bucket {name}", ct)).WithName("r2.delete");

        account.MapGet("/r2/buckets/{name}/objects/{**key}", (string name, HttpContext context) =>
            OnObjectAsync(name, context, store, supervisor, hosts, HttpMethod.Get)).WithName("r2.objects.get");
        account.MapPut("/r2/buckets/{name}/objects/{**key}", (string name, HttpContext context) =>
            OnObjectAsync(name, context, store, supervisor, hosts, HttpMethod.Put)).WithName("r2.objects.put");
        account.MapDelete("/r2/buckets/{name}/objects/{**key}", (string name, HttpContext context) =>
            OnObjectAsync(name, context, store, supervisor, hosts, HttpMethod.Delete)).WithName("r2.objects.delete");
    }

    /// <summary>
    /// The bucket of that name in the request's jurisdiction (cf-r2-jurisdiction, "default" without
    /// it): as at Cloudflare, each jurisdiction has buckets of its own, so an EU bucket asked for
    /// without the header is not found.
    /// </summary>
    private static R2BucketRecord? Find(ControlPlaneStore store, string name, HttpRequest request) =>
        store.Snapshot.Buckets.FirstOrDefault(b => b.Name == name && b.Jurisdiction == JurisdictionOf(request));

    private static string JurisdictionOf(HttpRequest request) => request.Headers["cf-r2-jurisdiction"].FirstOrDefault() ?? "default";

    private static IResult BucketMissing() => Api.Error(StatusCodes.Status404NotFound, NoSuchBucket, "The specified bucket does not exist.");

    private static async Task<IResult> OnObjectAsync(string name, HttpContext context, ControlPlaneStore store, StackSupervisor supervisor,
        ResourceHosts hosts, HttpMethod method)
    {
        var ct = context.RequestAborted;
        if (Find(store, name, context.Request) is null)
        {
            return BucketMissing();
        }
        var key = ResourceEndpoints.RawTail(context, $"/{name}/objects/");
        if (key is not { Length: > 0 } || System.Text.Encoding.UTF8.GetByteCount(key) > 1024)
        {
            return Api.Invalid("key: an object key of 1 to 1,024 bytes is required");
        }
        HttpContent? content = null;
        if (method == HttpMethod.Put)
        {
            content = await ResourceEndpoints.SizedBodyAsync(context.Request);
            foreach (var header in ObjectHeaders.Where(h => context.Request.Headers.ContainsKey(h)))
            {
                content.Headers.TryAddWithoutValidation(header, context.Request.Headers[header].ToString());
            }
        }
        HttpResponseMessage answer;
        try
        {
            var server = await hosts.ServingAsync(ResourceRef.Bucket(name), ct);
            answer = await supervisor.SendToControlAsync(server.Stack, method, $"r2/{server.Binding}/objects/{Uri.EscapeDataString(key)}", content, ct);
        }
        catch (Runtime.RuntimeHostException ex)
        {
            return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"bucket {name}: {ex.Message}");
        }
        using (answer)
        {
            if (answer.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return Api.Error(StatusCodes.Status404NotFound, NoSuchKey, "The specified key does not exist.");
            }
            if (!answer.IsSuccessStatusCode)
            {
                return Api.Invalid($"key {key}: {await answer.Content.ReadAsStringAsync(ct)}");
            }
            if (method != HttpMethod.Get)
            {
                return Api.Ok(method == HttpMethod.Put ? await ResourceEndpoints.JsonOfAsync(answer, ct) : null);
            }
            // The object itself, not an envelope, with the headers it was stored with.
            var response = context.Response;
            foreach (var header in ObjectHeaders.Append("ETag").Append("Last-Modified"))
            {
                if (answer.Content.Headers.TryGetValues(header, out var values) || answer.Headers.TryGetValues(header, out values))
                {
                    response.Headers[header] = values.ToArray();
                }
            }
            response.ContentLength = answer.Content.Headers.ContentLength;
            await answer.Content.CopyToAsync(response.Body, ct);
            return Results.Empty;
        }
    }

    private static object Result(R2BucketRecord b) => new
    {
        name = b.Name,
        creation_date = b.CreationDate,
        location = b.LocationHint ?? "weur",
        jurisdiction = b.Jurisdiction,
    };
}
