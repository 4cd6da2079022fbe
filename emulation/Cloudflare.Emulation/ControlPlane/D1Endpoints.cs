using System.Diagnostics;
using System.Text.Json;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>D1's v4 routes: databases, and SQL run on them (query, raw, export, import) whether or not a Worker binds them.</summary>
internal static class D1Endpoints
{
    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, StackSupervisor supervisor, ResourceHosts hosts,
        ResidencyPolicy residency, D1Transfers transfers)
    {
        // Paged as Cloudflare pages them: 1,000 a page by default, at most 10,000.
        account.MapGet("/d1/database", (HttpRequest request) =>
            Api.Paged([.. store.Snapshot.Databases.Select(Result)], request, defaultPerPage: 1000, maxPerPage: 10_000)).WithName("d1.list");
        account.MapPost("/d1/database", async (HttpRequest request) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("name", out var nameElement) || nameElement.Text() is not { Length: > 0 } name)
            {
                return Api.Invalid("name: a database name is required");
            }
            if (!ResourceEndpoints.ResourceName().IsMatch(name))
            {
                return Api.Invalid("name: lowercase letters, digits, '-' and '_', at most 64 characters");
            }
            var jurisdiction = body.Value.TryGetProperty("jurisdiction", out var j) ? j.Text() : null;
            if (jurisdiction is not (null or "eu" or "fedramp"))
            {
                return Api.Invalid($"jurisdiction: '{jurisdiction}' is not a D1 jurisdiction (eu, fedramp)");
            }
            if (!residency.AllowsJurisdiction(jurisdiction))
            {
                return ResourceEndpoints.ResidencyRefused("jurisdiction", jurisdiction, residency);
            }
            var record = new D1DatabaseRecord(Guid.NewGuid().ToString(), name, jurisdiction, DateTimeOffset.UtcNow);
            var created = store.Update(s => s.Databases.Any(d => d.Name == name)
                ? (s, false)
                : (s with { Databases = [.. s.Databases, record] }, true));
            return created
                ? Api.Ok(Result(record))
                : Api.Error(StatusCodes.Status409Conflict, Api.AlreadyExists, $"name: a database named '{name}' already exists");
        }).WithName("d1.create");
        // By id or by name, as Cloudflare looks one up (wrangler finds a database by its name this way).
        account.MapGet("/d1/database/{id}", (string id) =>
            (store.Snapshot.Databases.FirstOrDefault(d => d.Uuid == id) ?? store.Snapshot.Databases.FirstOrDefault(d => d.Name == id)) is { } db
                ? Api.Ok(Result(db))
                : Api.NotFound($"database {id}")).WithName("d1.get");
        account.MapDelete("/d1/database/{id}", (string id, CancellationToken ct) =>
            ResourceEndpoints.DeleteAsync(store, hosts, ResourceRef.Database(id),
                s => s.Databases.Any(d => d.Uuid == id),
                s => s with { Databases = [.. s.Databases.Where(d => d.Uuid != id)] }, $"database {id}", ct)).WithName("d1.delete");

        account.MapPost("/d1/database/{id}/query", (string id, HttpRequest request, CancellationToken ct) =>
            RunAsync(id, request, raw: false, store, supervisor, hosts, ct)).WithName("d1.query");
        account.MapPost("/d1/database/{id}/raw", (string id, HttpRequest request, CancellationToken ct) =>
            RunAsync(id, request, raw: true, store, supervisor, hosts, ct)).WithName("d1.raw");
        account.MapPost("/d1/database/{id}/export", (string id, HttpRequest request, CancellationToken ct) =>
            ExportAsync(id, request, store, supervisor, hosts, transfers, ct)).WithName("d1.export");
        account.MapPost("/d1/database/{id}/import", (string id, HttpRequest request, CancellationToken ct) =>
            ImportAsync(id, request, store, supervisor, hosts, transfers, ct)).WithName("d1.import");
    }

    /// <summary>SQL from the body: one statement with <c>params</c>, or several as one batch.</summary>
    private static async Task<IResult> RunAsync(string id, HttpRequest request, bool raw, ControlPlaneStore store, StackSupervisor supervisor,
        ResourceHosts hosts, CancellationToken ct)
    {
        if (store.Snapshot.Databases.All(d => d.Uuid != id))
        {
            return Api.NotFound($"database {id}");
        }
        var body = await ResourceEndpoints.ReadJsonAsync(request);
        if (body is null || !body.Value.TryGetProperty("sql", out var sqlElement) || sqlElement.Text() is not { Length: > 0 } sql)
        {
            return Api.Invalid("sql: a statement is required");
        }
        var parameters = body.Value.TryGetProperty("params", out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Select(ResourceEndpoints.Scalar).ToList()
            : [];
        return await OnDatabaseAsync(id, "sql", supervisor, hosts, ct, async server =>
            Api.Ok(await supervisor.RunD1SqlAsync(server.Stack, server.Binding, sql, parameters, ct, raw)));
    }

    /// <summary>
    /// Export as wrangler polls for it: done at once here, so the first answer is "complete" with
    /// a URL to the SQL (Cloudflare's is a presigned R2 URL).
    /// </summary>
    private static async Task<IResult> ExportAsync(string id, HttpRequest request, ControlPlaneStore store, StackSupervisor supervisor,
        ResourceHosts hosts, D1Transfers transfers, CancellationToken ct)
    {
        if (store.Snapshot.Databases.FirstOrDefault(d => d.Uuid == id) is not { } database)
        {
            return Api.NotFound($"database {id}");
        }
        var body = await ResourceEndpoints.ReadJsonAsync(request);
        if (body is null || !body.Value.TryGetProperty("output_format", out var format) || format.Text() != "polling")
        {
            return Api.Invalid("output_format: 'polling' is the only export format");
        }
        var options = body.Value.TryGetProperty("dump_options", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
        bool Flag(string name) => options.ValueKind == JsonValueKind.Object && options.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        var tables = options.ValueKind == JsonValueKind.Object && options.TryGetProperty("tables", out var t) && t.ValueKind == JsonValueKind.Array
            ? t.EnumerateArray().Select(x => x.Text()).ToList()
            : [];
        if (tables.Any(name => name is not { Length: > 0 }))
        {
            return Api.Invalid("dump_options.tables: table names, as strings");
        }
        return await OnDatabaseAsync(id, "dump_options", supervisor, hosts, ct, async server =>
        {
            var sql = await supervisor.ExportD1Async(server.Stack, server.Binding, Flag("no_schema"), Flag("no_data"), tables!, ct);
            var name = await transfers.KeepExportAsync(id, sql, ct);
            return Api.Ok(new
            {
                success = true,
                type = "export",
                status = "complete",
                at_bookmark = "",
                messages = new[] { $"Exported {database.Name}" },
                result = new { filename = $"{database.Name}-{name}", signed_url = transfers.UrlOf(request, name) },
            });
        });
    }

    /// <summary>
    /// Import in wrangler's three steps: init (where to upload the file), ingest (run it, as one
    /// batch: all of it or none), poll (nothing left to wait for here).
    /// </summary>
    private static async Task<IResult> ImportAsync(string id, HttpRequest request, ControlPlaneStore store, StackSupervisor supervisor,
        ResourceHosts hosts, D1Transfers transfers, CancellationToken ct)
    {
        if (store.Snapshot.Databases.All(d => d.Uuid != id))
        {
            return Api.NotFound($"database {id}");
        }
        var body = await ResourceEndpoints.ReadJsonAsync(request);
        var action = body is { } b && b.TryGetProperty("action", out var a) ? a.Text() : null;
        switch (action)
        {
            case "init":
                var name = transfers.IssueImport(id);
                return Api.Ok(new { success = true, type = "import", filename = name, upload_url = transfers.UrlOf(request, name) });
            case "poll":
                return Api.Ok(new { success = true, type = "import", status = "complete", at_bookmark = "", messages = Array.Empty<string>(), result = (object?)null });
            case "ingest":
                var filename = body!.Value.TryGetProperty("filename", out var f) ? f.Text() ?? "" : "";
                if (await transfers.ReadImportAsync(filename, id, ct) is not { } sql)
                {
                    return Api.Invalid($"filename: nothing was uploaded as '{filename}' within the hour (start again with action 'init')");
                }
                return await OnDatabaseAsync(id, "filename", supervisor, hosts, ct, async server =>
                {
                    var clock = Stopwatch.StartNew();
                    var results = await supervisor.RunD1SqlAsync(server.Stack, server.Binding, sql, [], ct);
                    transfers.Forget(filename);
                    long Sum(string field) => results.EnumerateArray().Sum(r => r.TryGetProperty("meta", out var m) && m.TryGetProperty(field, out var v) ? v.GetInt64() : 0);
                    var sizeAfter = results.EnumerateArray().Select(r => r.TryGetProperty("meta", out var m) && m.TryGetProperty("size_after", out var v) ? v.GetInt64() : 0).LastOrDefault();
                    return Api.Ok(new
                    {
                        success = true,
                        type = "import",
                        status = "complete",
                        at_bookmark = "",
                        messages = new[] { $"Executed {results.GetArrayLength()} queries" },
                        result = new
                        {
                            num_queries = results.GetArrayLength(),
                            final_bookmark = "",
                            meta = new { duration = clock.Elapsed.TotalMilliseconds, rows_read = Sum("rows_read"), rows_written = Sum("rows_written"), size_after = sizeAfter },
                        },
                    });
                });
            default:
                return Api.Invalid("action: init, ingest or poll");
        }
    }

    /// <summary>Runs <paramref name="call"/> on the stack that serves the database, once it is running; a SQL error is a 400 naming <paramref name="field"/>.</summary>
    private static async Task<IResult> OnDatabaseAsync(string id, string field, StackSupervisor supervisor, ResourceHosts hosts,
        CancellationToken ct, Func<ResourceServer, Task<IResult>> call)
    {
        ResourceServer server;
        try
        {
            server = await hosts.ServingAsync(ResourceRef.Database(id), ct);
        }
        catch (Runtime.RuntimeHostException ex)
        {
            return Api.Error(StatusCodes.Status503ServiceUnavailable, Api.NotServing, $"database {id}: its stack could not start ({ex.Message})");
        }
        if (await supervisor.SettledAsync(server.Stack, Api.ReloadWait, ct) is not { State: StackState.Running })
        {
            return Api.Error(StatusCodes.Status409Conflict, Api.NotServing,
                $"database {id}: the Worker '{server.Stack}' that serves it is not running (restart it, or deploy it again)");
        }
        try
        {
            return await call(server);
        }
        catch (Runtime.RuntimeHostException ex)
        {
            return Api.Invalid($"{field}: {ex.Message}");
        }
    }

    private static object Result(D1DatabaseRecord d) => new
    {
        uuid = d.Uuid,
        name = d.Name,
        created_at = d.CreatedAt,
        version = "production",
        jurisdiction = d.Jurisdiction,
    };
}
