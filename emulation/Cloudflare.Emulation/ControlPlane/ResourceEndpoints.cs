using System.Text.Json;
using System.Text.RegularExpressions;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>D1 databases, R2 buckets and KV namespaces: Cloudflare's v4 routes, answered locally.</summary>
internal static partial class ResourceEndpoints
{
    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, StackSupervisor supervisor, ScriptDeployer deployer, ResidencyPolicy residency)
    {
        // ---- D1 ----
        // Paged as Cloudflare pages them (D1: 1,000 a page by default, at most 10,000; KV: 20, at most
        // 1,000, which wrangler asks for, ordered by title or id when asked).
        account.MapGet("/d1/database", (HttpRequest request) =>
            Api.Paged([.. store.Snapshot.Databases.Select(D1Result)], request, defaultPerPage: 1000, maxPerPage: 10_000)).WithName("d1.list");
        account.MapPost("/d1/database", async (HttpRequest request) =>
        {
            var body = await ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("name", out var nameElement) || nameElement.GetString() is not { Length: > 0 } name)
            {
                return Api.Invalid("name: a database name is required");
            }
            if (!ResourceName().IsMatch(name))
            {
                return Api.Invalid("name: lowercase letters, digits, '-' and '_', at most 64 characters");
            }
            var jurisdiction = body.Value.TryGetProperty("jurisdiction", out var j) ? j.GetString() : null;
            if (jurisdiction is not (null or "eu" or "fedramp"))
            {
                return Api.Invalid($"jurisdiction: '{jurisdiction}' is not a D1 jurisdiction (eu, fedramp)");
            }
            if (!residency.AllowsJurisdiction(jurisdiction))
            {
                return ResidencyRefused("jurisdiction", jurisdiction, residency);
            }
            var record = new D1DatabaseRecord(Guid.NewGuid().ToString(), name, jurisdiction, DateTimeOffset.UtcNow);
            var created = store.Update(s => s.Databases.Any(d => d.Name == name)
                ? (s, false)
                : (s with { Databases = [.. s.Databases, record] }, true));
            return created
                ? Api.Ok(D1Result(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"name: a database named '{name}' already exists");
        }).WithName("d1.create");
        // By id or by name, as Cloudflare looks one up (wrangler finds a database by its name this way).
        account.MapGet("/d1/database/{id}", (string id) =>
            (store.Snapshot.Databases.FirstOrDefault(d => d.Uuid == id) ?? store.Snapshot.Databases.FirstOrDefault(d => d.Name == id)) is { } db
                ? Api.Ok(D1Result(db))
                : Api.NotFound($"database {id}")).WithName("d1.get");
        account.MapDelete("/d1/database/{id}", async (string id, CancellationToken ct) =>
        {
            if (store.Snapshot.Scripts.All(x => x.Bindings.All(b => b.Type != "d1" || b.Id != id)))
            {
                // Its own host (if queried while unbound) lets go of its files first.
                await deployer.StopDatabaseHostAsync(id, ct);
            }
            return Delete(store, "d1", id,
                s => s.Databases.Any(d => d.Uuid == id),
                s => s with { Databases = [.. s.Databases.Where(d => d.Uuid != id)] },
                b => b.Type == "d1" && b.Id == id, $"database {id}");
        }).WithName("d1.delete");
        account.MapPost("/d1/database/{id}/query", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            if (store.Snapshot.Databases.All(d => d.Uuid != id))
            {
                return Api.NotFound($"database {id}");
            }
            var body = await ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("sql", out var sqlElement) || sqlElement.GetString() is not { Length: > 0 } sql)
            {
                return Api.Invalid("sql: a statement is required");
            }
            var parameters = body.Value.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array
                ? p.EnumerateArray().Select(Scalar).ToList()
                : [];
            // The database's data lives in the stack of the script bound to it; queries go through there.
            // A database no script binds is served by a stack of its own, as D1 needs no Worker.
            var bound = store.Snapshot.Scripts.SelectMany(s => s.Bindings.Select(b => (Script: s.Name, Binding: b.Name, b.Type, b.Id)))
                .FirstOrDefault(x => x.Type == "d1" && x.Id == id);
            var (stack, bindingName) = bound.Script is { } script
                ? (script, bound.Binding)
                : (await deployer.ServeDatabaseAsync(store.Snapshot.Databases.First(d => d.Uuid == id), ct), ScriptDeployer.DatabaseHostBinding);
            if (await supervisor.SettledAsync(stack, Api.ReloadWait, ct) is not { State: StackState.Running })
            {
                return Api.Error(StatusCodes.Status409Conflict, Api.NotServing,
                    $"database {id}: the Worker '{stack}' that serves it is not running (restart it, or deploy it again)");
            }
            try
            {
                // One statement or several, split where migrations are (the stack's sql-statements.mjs).
                return Api.Ok(await supervisor.RunD1SqlAsync(stack, bindingName, sql, parameters, ct));
            }
            catch (Runtime.RuntimeHostException ex)
            {
                return Api.Invalid(ex.Message);
            }
        }).WithName("d1.query");

        // ---- R2 ----
        account.MapGet("/r2/buckets", () => Api.Ok(new { buckets = store.Snapshot.Buckets.Select(R2Result) })).WithName("r2.list");
        account.MapPost("/r2/buckets", async (HttpRequest request) =>
        {
            var body = await ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("name", out var nameElement) || nameElement.GetString() is not { Length: > 0 } name)
            {
                return Api.Invalid("name: a bucket name is required");
            }
            if (!BucketName().IsMatch(name))
            {
                return Api.Invalid("name: 3-63 lowercase letters, digits and '-', starting and ending with a letter or digit");
            }
            var jurisdiction = request.Headers["cf-r2-jurisdiction"].FirstOrDefault() ?? "default";
            if (jurisdiction is not ("default" or "eu" or "fedramp"))
            {
                return Api.Invalid($"cf-r2-jurisdiction: '{jurisdiction}' is not an R2 jurisdiction (default, eu, fedramp)");
            }
            if (!residency.AllowsJurisdiction(jurisdiction))
            {
                return ResidencyRefused("cf-r2-jurisdiction", jurisdiction, residency);
            }
            var hint = body.Value.TryGetProperty("locationHint", out var h) ? h.GetString() : null;
            var record = new R2BucketRecord(name, jurisdiction, hint, DateTimeOffset.UtcNow);
            var created = store.Update(s => s.Buckets.Any(b => b.Name == name)
                ? (s, false)
                : (s with { Buckets = [.. s.Buckets, record] }, true));
            return created
                ? Api.Ok(R2Result(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"name: a bucket named '{name}' already exists");
        }).WithName("r2.create");
        account.MapDelete("/r2/buckets/{name}", (string name) => Delete(store, "r2", name,
            s => s.Buckets.Any(b => b.Name == name),
            s => s with { Buckets = [.. s.Buckets.Where(b => b.Name != name)] },
            b => b.Type == "r2_bucket" && b.BucketName == name, $"bucket {name}")).WithName("r2.delete");

        // ---- KV ----
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
            return Api.Paged([.. namespaces.Select(KvResult)], request, defaultPerPage: 20, maxPerPage: 1000);
        }).WithName("kv.list");
        account.MapPost("/storage/kv/namespaces", async (HttpRequest request) =>
        {
            var body = await ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("title", out var titleElement) || titleElement.GetString() is not { Length: > 0 and <= 512 } title)
            {
                return Api.Invalid("title: a namespace title (1-512 characters) is required");
            }
            var record = new KvNamespaceRecord(Guid.NewGuid().ToString("N"), title);
            var created = store.Update(s => s.Namespaces.Any(n => n.Title == title)
                ? (s, false)
                : (s with { Namespaces = [.. s.Namespaces, record] }, true));
            return created
                ? Api.Ok(KvResult(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"title: a namespace titled '{title}' already exists");
        }).WithName("kv.create");
        account.MapDelete("/storage/kv/namespaces/{id}", (string id) => Delete(store, "kv", id,
            s => s.Namespaces.Any(n => n.Id == id),
            s => s with { Namespaces = [.. s.Namespaces.Where(n => n.Id != id)] },
            b => b.Type == "kv_namespace" && b.NamespaceId == id, $"namespace {id}")).WithName("kv.delete");
    }

    /// <summary>Deletes a resource and its data — unless a deployed script is bound to it.</summary>
    private static IResult Delete(ControlPlaneStore store, string kind, string id, Func<ControlPlaneSnapshot, bool> exists,
        Func<ControlPlaneSnapshot, ControlPlaneSnapshot> remove, Func<WorkerBindingRecord, bool> boundTo, string what)
    {
        var outcome = store.Update(s =>
        {
            if (!exists(s))
            {
                return (s, "missing");
            }
            var user = s.Scripts.FirstOrDefault(script => script.Bindings.Any(boundTo));
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
        var dir = store.ResourceDirectory(kind, id);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
        return Api.Ok(null);
    }

    /// <summary>A resource outside the residency policy's jurisdictions is refused (403), naming the field and the fix.</summary>
    private static IResult ResidencyRefused(string field, string? jurisdiction, ResidencyPolicy residency) =>
        Api.Error(StatusCodes.Status403Forbidden, Api.ResidencyPolicy,
            $"{field}: '{jurisdiction ?? "none"}' is outside the residency policy; create it in {string.Join(" or ", residency.Jurisdictions)} (Harness:Residency:Jurisdictions)");

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

    internal static object? Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static object D1Result(D1DatabaseRecord d) => new
    {
        uuid = d.Uuid,
        name = d.Name,
        created_at = d.CreatedAt,
        version = "production",
        jurisdiction = d.Jurisdiction,
    };

    private static object R2Result(R2BucketRecord b) => new
    {
        name = b.Name,
        creation_date = b.CreationDate,
        location = b.LocationHint ?? "weur",
        jurisdiction = b.Jurisdiction,
    };

    private static object KvResult(KvNamespaceRecord n) => new { id = n.Id, title = n.Title, supports_url_encoding = true };

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex ResourceName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();
}
