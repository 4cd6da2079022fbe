using System.Text;
using System.Text.Json;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>Workers KV's v4 routes: namespaces, keys (paged by cursor), values and their metadata, bulk writes, reads and deletes.</summary>
internal static class KvEndpoints
{
    /// <summary>Cloudflare's KV codes for a key or namespace that is not there.</summary>
    private const int KeyNotFound = 10009;
    private const int NamespaceNotFound = 10013;

    /// <summary>KV's documented limits: key size, value size, pairs in one bulk write and keys in one bulk read.</summary>
    private const int MaxKeyBytes = 512;
    private const int MaxValueBytes = 25 * 1024 * 1024;
    private const int MaxBulkWrite = 10_000;
    private const int MaxBulkRead = 100;

    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts)
    {
        account.MapGet("/storage/kv/namespaces", (HttpRequest request) =>
        {
            var order = request.Query["order"].ToString();
            var direction = request.Query["direction"].ToString();
            if (order is not ("" or "id" or "title") || direction is not ("" or "asc" or "desc"))
            {
                return Api.Invalid(order is not ("" or "id" or "title") ? "order: id or title" : "direction: asc or desc");
            }
            IEnumerable<KvNamespaceRecord> namespaces = store.Snapshot.Namespaces;
            if (order != "")
            {
                Func<KvNamespaceRecord, string> key = order == "id" ? n => n.Id : n => n.Title;
                namespaces = direction == "desc" ? namespaces.OrderByDescending(key, StringComparer.Ordinal) : namespaces.OrderBy(key, StringComparer.Ordinal);
            }
            // 20 a page by default, at most 1,000 (which wrangler asks for).
            return Api.Paged([.. namespaces.Select(Result)], request, defaultPerPage: 20, maxPerPage: 1000);
        }).WithName("kv.list");
        account.MapPost("/storage/kv/namespaces", async (HttpRequest request) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("title", out var titleElement) || titleElement.Text() is not { Length: > 0 and <= 512 } title)
            {
                return Api.Invalid("title: a namespace title (1-512 characters) is required");
            }
            var record = new KvNamespaceRecord(Guid.NewGuid().ToString("N"), title);
            var created = store.Update(s => s.Namespaces.Any(n => n.Title == title)
                ? (s, false)
                : (s with { Namespaces = [.. s.Namespaces, record] }, true));
            return created
                ? Api.Ok(Result(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"title: a namespace titled '{title}' already exists");
        }).WithName("kv.create");
        account.MapGet("/storage/kv/namespaces/{id}", (string id) =>
            store.Snapshot.Namespaces.FirstOrDefault(n => n.Id == id) is { } ns ? Api.Ok(Result(ns)) : NamespaceMissing(id)).WithName("kv.get");
        account.MapDelete("/storage/kv/namespaces/{id}", (string id, CancellationToken ct) =>
            ResourceEndpoints.DeleteAsync(store, hosts, ResourceRef.Namespace(id),
                s => s.Namespaces.Any(n => n.Id == id),
                s => s with { Namespaces = [.. s.Namespaces.Where(n => n.Id != id)] }, $"namespace {id}", ct)).WithName("kv.delete");

        var ns = new NamespaceCalls(store, supervisor, hosts);
        account.MapGet("/storage/kv/namespaces/{id}/keys", (string id, HttpRequest request, CancellationToken ct) => ListKeysAsync(ns, id, request, ct)).WithName("kv.keys");
        account.MapGet("/storage/kv/namespaces/{id}/values/{**key}", (string id, HttpContext context) => ReadValueAsync(ns, id, context)).WithName("kv.values.get");
        account.MapPut("/storage/kv/namespaces/{id}/values/{**key}", (string id, HttpContext context) => WriteValueAsync(ns, id, context)).WithName("kv.values.put");
        account.MapDelete("/storage/kv/namespaces/{id}/values/{**key}", (string id, HttpContext context) =>
            ns.OnKeyAsync(id, context, "values", key => ns.JsonAsync(id, HttpMethod.Delete, $"values/{Uri.EscapeDataString(key)}", null, _ => Api.Ok(null), context.RequestAborted))).WithName("kv.values.delete");
        account.MapGet("/storage/kv/namespaces/{id}/metadata/{**key}", (string id, HttpContext context) =>
            ns.OnKeyAsync(id, context, "metadata", key => ns.JsonAsync(id, HttpMethod.Get, $"metadata/{Uri.EscapeDataString(key)}", null,
                answer => Api.Ok(answer.GetProperty("metadata")), context.RequestAborted))).WithName("kv.metadata");

        account.MapPut("/storage/kv/namespaces/{id}/bulk", (string id, HttpRequest request, CancellationToken ct) => BulkWriteAsync(ns, id, request, ct)).WithName("kv.bulk.put");
        account.MapDelete("/storage/kv/namespaces/{id}/bulk", (string id, HttpRequest request, CancellationToken ct) => BulkDeleteAsync(ns, id, request, ct)).WithName("kv.bulk.delete");
        account.MapPost("/storage/kv/namespaces/{id}/bulk/delete", (string id, HttpRequest request, CancellationToken ct) => BulkDeleteAsync(ns, id, request, ct)).WithName("kv.bulk.delete.post");
        account.MapPost("/storage/kv/namespaces/{id}/bulk/get", (string id, HttpRequest request, CancellationToken ct) => BulkReadAsync(ns, id, request, ct)).WithName("kv.bulk.get");
    }

    private static async Task<IResult> ListKeysAsync(NamespaceCalls ns, string id, HttpRequest request, CancellationToken ct)
    {
        var limitText = request.Query["limit"].ToString();
        if (limitText.Length > 0 && (!int.TryParse(limitText, out var limit) || limit is < 10 or > 1000))
        {
            return Api.Invalid("limit: a number from 10 to 1000");
        }
        var query = QueryString.Create(new Dictionary<string, string?>
        {
            ["limit"] = limitText.Length > 0 ? limitText : "1000",
            ["prefix"] = request.Query["prefix"].FirstOrDefault(),
            ["cursor"] = request.Query["cursor"].FirstOrDefault(),
        }.Where(p => p.Value is not null));
        return await ns.JsonAsync(id, HttpMethod.Get, "keys" + query, null, answer =>
        {
            var keys = answer.GetProperty("keys");
            return Api.CursorPage(keys, keys.GetArrayLength(), answer.GetProperty("cursor").Text() ?? "");
        }, ct);
    }

    /// <summary>The value itself (not an envelope), or 404 with KV's "key not found".</summary>
    private static Task<IResult> ReadValueAsync(NamespaceCalls ns, string id, HttpContext context) =>
        ns.OnKeyAsync(id, context, "values", async key =>
        {
            using var answer = await ns.SendAsync(id, HttpMethod.Get, $"values/{Uri.EscapeDataString(key)}", null, context.RequestAborted);
            if (answer.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return Api.Error(StatusCodes.Status404NotFound, KeyNotFound, "get: 'key not found'");
            }
            if (!answer.IsSuccessStatusCode)
            {
                return Api.Invalid($"key {key}: {await answer.Content.ReadAsStringAsync(context.RequestAborted)}");
            }
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = answer.Content.Headers.ContentLength;
            await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
            return Results.Empty;
        });

    /// <summary>A value as the raw body, or as multipart form fields <c>value</c> and <c>metadata</c> (how wrangler sends one with metadata).</summary>
    private static Task<IResult> WriteValueAsync(NamespaceCalls ns, string id, HttpContext context) =>
        ns.OnKeyAsync(id, context, "values", async key =>
        {
            var request = context.Request;
            if (!TryExpiry(request.Query["expiration"], request.Query["expiration_ttl"], out var problem))
            {
                return Api.Invalid(problem);
            }
            HttpContent content;
            string? metadata = null;
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(context.RequestAborted);
                metadata = form["metadata"].FirstOrDefault();
                if (form.Files.GetFile("value") is { } file)
                {
                    content = new StreamContent(file.OpenReadStream());
                    content.Headers.ContentLength = file.Length;
                }
                else if (form["value"].FirstOrDefault() is { } text)
                {
                    content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
                }
                else
                {
                    return Api.Invalid("value: a multipart upload needs a 'value' field");
                }
                if (metadata is not null && !IsJson(metadata))
                {
                    return Api.Invalid("metadata: not valid JSON");
                }
            }
            else
            {
                content = await ResourceEndpoints.SizedBodyAsync(request);
            }
            if (content.Headers.ContentLength > MaxValueBytes)
            {
                return Api.Error(StatusCodes.Status413PayloadTooLarge, 10011, "value: larger than KV's 25 MiB limit");
            }
            if (metadata is not null)
            {
                // Re-serialised: one line, non-ASCII escaped, so it travels as a header unchanged.
                using var parsed = JsonDocument.Parse(metadata);
                content.Headers.TryAddWithoutValidation("x-kv-metadata", JsonSerializer.Serialize(parsed.RootElement));
            }
            var query = QueryString.Create(new Dictionary<string, string?>
            {
                ["expiration"] = request.Query["expiration"].FirstOrDefault(),
                ["expiration_ttl"] = request.Query["expiration_ttl"].FirstOrDefault(),
            }.Where(p => p.Value is not null));
            return await ns.JsonAsync(id, HttpMethod.Put, $"values/{Uri.EscapeDataString(key)}{query}", content, _ => Api.Ok(null), context.RequestAborted);
        });

    private static async Task<IResult> BulkWriteAsync(NamespaceCalls ns, string id, HttpRequest request, CancellationToken ct)
    {
        var pairs = await ReadArrayAsync(request);
        if (pairs is null || pairs.Value.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.Object))
        {
            return Api.Invalid("body: an array of { key, value } objects");
        }
        if (pairs.Value.GetArrayLength() > MaxBulkWrite)
        {
            return Api.Invalid($"body: at most {MaxBulkWrite} pairs in one bulk write");
        }
        var index = 0;
        foreach (var pair in pairs.Value.EnumerateArray())
        {
            var key = pair.TryGetProperty("key", out var k) ? k.Text() : null;
            if (KeyProblem(key) is { } problem)
            {
                return Api.Invalid($"[{index}].{problem}");
            }
            if (!pair.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.String)
            {
                return Api.Invalid($"[{index}].value: a string is required (base64 with \"base64\": true for bytes)");
            }
            var expiration = pair.TryGetProperty("expiration", out var e) ? e.ToString() : null;
            var ttl = pair.TryGetProperty("expiration_ttl", out var t) ? t.ToString() : null;
            if (!TryExpiry(expiration, ttl, out var expiryProblem))
            {
                return Api.Invalid($"[{index}].{expiryProblem}");
            }
            index++;
        }
        return await ns.JsonAsync(id, HttpMethod.Put, "bulk", JsonContentOf(pairs.Value), json => Api.Ok(json), ct);
    }

    private static async Task<IResult> BulkDeleteAsync(NamespaceCalls ns, string id, HttpRequest request, CancellationToken ct)
    {
        var keys = await ReadArrayAsync(request);
        if (keys is null || keys.Value.EnumerateArray().Any(k => k.ValueKind != JsonValueKind.String))
        {
            return Api.Invalid("body: an array of key names");
        }
        if (keys.Value.GetArrayLength() > MaxBulkWrite)
        {
            return Api.Invalid($"body: at most {MaxBulkWrite} keys in one bulk delete");
        }
        // Every key checked before any is deleted: a bad one part-way leaves nothing half done.
        var index = 0;
        foreach (var key in keys.Value.EnumerateArray())
        {
            if (KeyProblem(key.Text()) is { } problem)
            {
                return Api.Invalid($"[{index}].{problem}");
            }
            index++;
        }
        return await ns.JsonAsync(id, HttpMethod.Post, "bulk/delete", JsonContentOf(keys.Value), json => Api.Ok(json), ct);
    }

    private static async Task<IResult> BulkReadAsync(NamespaceCalls ns, string id, HttpRequest request, CancellationToken ct)
    {
        var body = await ResourceEndpoints.ReadJsonAsync(request);
        if (body is null || !body.Value.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array
            || keys.EnumerateArray().Any(k => k.ValueKind != JsonValueKind.String))
        {
            return Api.Invalid("keys: an array of key names");
        }
        if (keys.GetArrayLength() is 0 or > MaxBulkRead)
        {
            return Api.Invalid($"keys: 1 to {MaxBulkRead} keys in one bulk read");
        }
        if (body.Value.TryGetProperty("type", out var type) && type.Text() is not ("text" or "json"))
        {
            return Api.Invalid("type: text or json");
        }
        return await ns.JsonAsync(id, HttpMethod.Post, "bulk/get", JsonContentOf(body.Value), json => Api.Ok(json), ct);
    }

    /// <summary>What is wrong with a key (KV: 1 to 512 bytes, not "." or ".."), or null.</summary>
    private static string? KeyProblem(string? key) => key switch
    {
        null or "" => "key: a key name is required",
        "." or ".." => "key: '.' and '..' are not valid key names",
        _ when Encoding.UTF8.GetByteCount(key) > MaxKeyBytes => $"key: at most {MaxKeyBytes} bytes",
        _ => null,
    };

    /// <summary>An absolute expiry (seconds since the epoch) or a TTL, each a number, the TTL at least 60 s as KV requires.</summary>
    private static bool TryExpiry(string? expiration, string? ttl, out string problem)
    {
        problem = "";
        if (!string.IsNullOrEmpty(expiration) && !long.TryParse(expiration, out _))
        {
            problem = "expiration: seconds since the epoch";
        }
        else if (!string.IsNullOrEmpty(ttl) && (!long.TryParse(ttl, out var seconds) || seconds < 60))
        {
            problem = "expiration_ttl: a number of seconds, at least 60";
        }
        return problem.Length == 0;
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static async Task<JsonElement?> ReadArrayAsync(HttpRequest request)
    {
        try
        {
            var element = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
            return element.ValueKind == JsonValueKind.Array ? element : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static StringContent JsonContentOf(JsonElement json) => new(json.GetRawText(), Encoding.UTF8, "application/json");

    private static IResult NamespaceMissing(string id) => Api.Error(StatusCodes.Status404NotFound, NamespaceNotFound, $"namespace {id} not found");

    private static object Result(KvNamespaceRecord n) => new { id = n.Id, title = n.Title, supports_url_encoding = true };

    /// <summary>Calls on one namespace, through the stack that serves it (the Worker that binds it, or its own).</summary>
    private sealed class NamespaceCalls(ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts)
    {
        public async Task<HttpResponseMessage> SendAsync(string id, HttpMethod method, string path, HttpContent? content, CancellationToken ct)
        {
            var server = await hosts.ServingAsync(ResourceRef.Namespace(id), ct);
            return await supervisor.SendToControlAsync(server.Stack, method, $"kv/{server.Binding}/{path}", content, ct);
        }

        /// <summary>A call whose answer is JSON, turned into the API's answer by <paramref name="answer"/>; the namespace must exist.</summary>
        public async Task<IResult> JsonAsync(string id, HttpMethod method, string path, HttpContent? content, Func<JsonElement, IResult> answer, CancellationToken ct)
        {
            if (store.Snapshot.Namespaces.All(n => n.Id != id))
            {
                return NamespaceMissing(id);
            }
            try
            {
                using var response = await SendAsync(id, method, path, content, ct);
                var json = await ResourceEndpoints.JsonOfAsync(response, ct);
                if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    return Api.Error(StatusCodes.Status404NotFound, KeyNotFound, "get: 'key not found'");
                }
                return response.IsSuccessStatusCode
                    ? answer(json)
                    : Api.Invalid(json.TryGetProperty("error", out var e) ? e.Text() ?? "" : json.ToString());
            }
            catch (Runtime.RuntimeHostException ex)
            {
                return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"namespace {id}: {ex.Message}");
            }
        }

        /// <summary>Runs <paramref name="call"/> with the request's key (after /&lt;segment&gt;/), once the namespace and key check out.</summary>
        public async Task<IResult> OnKeyAsync(string id, HttpContext context, string segment, Func<string, Task<IResult>> call)
        {
            if (store.Snapshot.Namespaces.All(n => n.Id != id))
            {
                return NamespaceMissing(id);
            }
            var key = ResourceEndpoints.RawTail(context, $"/{id}/{segment}/");
            if (KeyProblem(key) is { } problem)
            {
                return Api.Invalid(problem);
            }
            try
            {
                return await call(key!);
            }
            catch (Runtime.RuntimeHostException ex)
            {
                return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"namespace {id}: {ex.Message}");
            }
        }
    }
}
