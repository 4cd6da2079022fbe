using System.Text.RegularExpressions;
using Cloudflare.Emulation.Chaos;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// R2's S3-compatible API for every bucket, on one endpoint as on Cloudflare (path style:
/// &lt;endpoint&gt;/&lt;bucket&gt;/&lt;key&gt;). The access key must be a token issued for that bucket — another
/// bucket's key gets AccessDenied — and the request, signature untouched, is served by Miniflare's
/// S3 implementation in the stack bound to the bucket, which verifies the SigV4 signature.
/// </summary>
internal static partial class S3Endpoint
{
    /// <summary>The same path Miniflare serves S3 on, so a request signed for here verifies there.</summary>
    public const string BasePath = "/cdn-cgi/local/r2/s3";

    private static readonly HttpClient Forwarder = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
    {
        Timeout = TimeSpan.FromMinutes(5),
    };

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer",
    };

    public static void Map(IEndpointRouteBuilder app, ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts, ChaosFaults chaos)
    {
        app.Map(BasePath + "/{bucket}/{**key}", (HttpContext context, string bucket) => ForwardAsync(context, bucket, store, supervisor, hosts, chaos));
        app.Map(BasePath + "/{bucket}", (HttpContext context, string bucket) => ForwardAsync(context, bucket, store, supervisor, hosts, chaos));
        // ListBuckets: served by the stack of the key's own bucket, whose S3 lists the buckets these
        // credentials open — that one only, as a key here is a token for one bucket.
        app.Map(BasePath, (HttpContext context) => ForwardAsync(context, null, store, supervisor, hosts, chaos));
    }

    private static async Task ForwardAsync(HttpContext context, string? requested, ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts, ChaosFaults chaos)
    {
        var accessKey = AccessKeyOf(context.Request);
        var token = accessKey is null ? null : store.Snapshot.AllTokens.FirstOrDefault(t => t.Id == accessKey);
        if (token is null)
        {
            await ErrorAsync(context, 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
            return;
        }
        var bucket = requested ?? token.Bucket;
        // The key opens its own bucket only — also as the source of a copy.
        var copySource = Uri.UnescapeDataString(context.Request.Headers["x-amz-copy-source"].FirstOrDefault() ?? "").TrimStart('/');
        if (token.Bucket != bucket || (copySource.Length > 0 && copySource.Split('/')[0] != token.Bucket))
        {
            await ErrorAsync(context, 403, "AccessDenied", "Access Denied");
            return;
        }
        if (store.Snapshot.Buckets.All(b => b.Name != bucket))
        {
            await ErrorAsync(context, 404, "NoSuchBucket", "The specified bucket does not exist.");
            return;
        }
        // Served by the stack of the Worker that binds the bucket, or by the bucket's own (R2 needs no Worker).
        ResourceServer server;
        try
        {
            server = await hosts.ServingAsync(ResourceRef.Bucket(bucket), context.RequestAborted);
        }
        catch (Runtime.RuntimeHostException)
        {
            await ErrorAsync(context, 503, "ServiceUnavailable", "The bucket's stack could not start.");
            return;
        }
        if (await supervisor.SettledAsync(server.Stack, Api.ReloadWait, context.RequestAborted) is not { State: StackState.Running, Url: { } url })
        {
            await ErrorAsync(context, 503, "ServiceUnavailable", "The bucket is not served by a running Worker stack right now.");
            return;
        }

        // The chaos API's R2 rules meet S3 requests too, by the binding operation each one is.
        var rule = chaos.Fire("r2", server.Stack, OperationOf(context.Request, requested is not null && context.Request.RouteValues.ContainsKey("key")));
        if (chaos.DelayOf("r2", rule) is { TotalMilliseconds: > 0 } delay)
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        if (rule?.Error is { } errorName && FaultCatalogue.Find(errorName) is { Status: { } status, S3Code: { } s3Code } fault)
        {
            await ErrorAsync(context, status, s3Code, fault.Message);
            return;
        }

        // The request target exactly as the client sent and signed it: ASP.NET's decoded Path, encoded
        // again by Uri, would differ for keys with + = ' ( ) * or %, and the signature would not match.
        var rawTarget = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? context.Request.Path + context.Request.QueryString;
        var target = new Uri(url + rawTarget, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var forwarded = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        // R2 does not accept streaming SigV4 (aws-chunked bodies): neither does the emulator, rather than
        // store the chunk framing as the object. SDKs must send the payload whole.
        if (context.Request.Headers["x-amz-content-sha256"].FirstOrDefault()?.StartsWith("STREAMING-", StringComparison.Ordinal) == true)
        {
            await ErrorAsync(context, 501, "NotImplemented", "STREAMING-* payload signing (aws-chunked) is not implemented by R2; send the payload whole (AWSSDK.S3: UseChunkEncoding = false, or DisablePayloadSigning over HTTPS).");
            return;
        }
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            forwarded.Content = new StreamContent(context.Request.Body);
        }
        else if (context.Request.Headers.ContentType.Count > 0)
        {
            // No body, but a Content-Type the client signed (CreateMultipartUpload, CopyObject with
            // REPLACE): HttpClient carries it only on content, so an empty one goes along.
            forwarded.Content = new ByteArrayContent([]);
        }
        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopByHop.Contains(name) || name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!forwarded.Headers.TryAddWithoutValidation(name, values.ToArray()) && forwarded.Content is not null)
            {
                forwarded.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }
        // The signature covers the Host header: keep the one the client signed.
        forwarded.Headers.Host = context.Request.Host.Value;
        using var response = await Forwarder.SendAsync(forwarded, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        // Miniflare checked the signature, then refused an operation R2 has: answered here instead.
        if (response.StatusCode == System.Net.HttpStatusCode.NotImplemented && S3MultipartListings.OperationOf(context.Request, KeyOf(rawTarget, bucket) is not null) is { } listing)
        {
            await S3MultipartListings.AnswerAsync(context, listing, bucket, KeyOf(rawTarget, bucket), store.ResourceDirectory("r2", bucket));
            return;
        }
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    /// <summary>The object key of a request target (&lt;base&gt;/&lt;bucket&gt;/&lt;key&gt;?…), decoded; null for a bucket request.</summary>
    private static string? KeyOf(string rawTarget, string bucket)
    {
        var path = rawTarget.Split('?', 2)[0];
        var prefix = $"{BasePath}/{bucket}/";
        return path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length ? Uri.UnescapeDataString(path[prefix.Length..]) : null;
    }

    /// <summary>The R2 binding operation an S3 request is, for the chaos API's rules.</summary>
    private static string OperationOf(HttpRequest request, bool hasKey) => request.Method switch
    {
        "HEAD" => "head",
        "GET" => hasKey ? "get" : "list",
        "PUT" => "put",
        "DELETE" => "delete",
        "POST" when request.Query.ContainsKey("uploads") => "createMultipartUpload",
        "POST" when request.Query.ContainsKey("delete") => "delete",
        _ => "put",
    };

    /// <summary>The access key id of a SigV4 request (Authorization header or presigned X-Amz-Credential).</summary>
    private static string? AccessKeyOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.FirstOrDefault();
        if (header is not null && Credential().Match(header) is { Success: true } match)
        {
            return match.Groups[1].Value;
        }
        return request.Query["X-Amz-Credential"].FirstOrDefault()?.Split('/')[0];
    }

    private static Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/xml";
        var xml = new System.Xml.Linq.XElement("Error", new System.Xml.Linq.XElement("Code", code), new System.Xml.Linq.XElement("Message", message));
        return context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + xml);
    }

    [GeneratedRegex(@"Credential=([^/,\s]+)/")]
    private static partial Regex Credential();
}
