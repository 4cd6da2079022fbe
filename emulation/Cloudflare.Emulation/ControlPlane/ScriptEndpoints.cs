using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>Worker script upload (multipart: metadata + ES modules) and deletion.</summary>
internal static class ScriptEndpoints
{
    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, ScriptDeployer deployer, StackSupervisor supervisor)
    {
        account.MapGet("/workers/scripts", () => Api.Ok(store.Snapshot.Scripts.Select(Result))).WithName("scripts.list");
        account.MapGet("/workers/subdomain", () => Api.Ok(new { subdomain = StackSupervisor.WorkersSubdomain })).WithName("workers.subdomain");

        account.MapPut("/workers/scripts/{name}", async (string name, HttpRequest request, CancellationToken ct) =>
        {
            var (upload, refusal) = await ReadUploadAsync(name, request, store, deployer, ct);
            if (upload is null)
            {
                return refusal!;
            }
            await File.WriteAllTextAsync(store.ScriptPath(name), upload.Code, ct);
            var record = store.Update(s =>
            {
                var script = upload.Record with { CreatedOn = s.Scripts.FirstOrDefault(x => x.Name == name)?.CreatedOn ?? upload.Record.CreatedOn };
                return (s with { Scripts = [.. s.Scripts.Where(x => x.Name != name), script] }, script);
            });
            return await DeployAsync(deployer, record, ct) ?? Api.Ok(Result(record));
        }).WithName("scripts.upload");

        // wrangler deploy of a script that exists: upload a version, then deploy it to all traffic.
        account.MapPost("/workers/scripts/{name}/versions", async (string name, HttpRequest request, CancellationToken ct) =>
        {
            if (store.Snapshot.Scripts.All(x => x.Name != name))
            {
                return Api.Error(StatusCodes.Status404NotFound, 10007, "This Worker does not exist on your account.");
            }
            var (upload, refusal) = await ReadUploadAsync(name, request, store, deployer, ct);
            if (upload is null)
            {
                return refusal!;
            }
            var version = upload.Record;
            await File.WriteAllTextAsync(store.ScriptPath(VersionFile(name, version.Version)), upload.Code, ct);
            // Each script keeps its newest pending versions; others' are untouched.
            var dropped = store.Update(s =>
            {
                var own = s.PendingVersions.Where(v => v.Name == name).ToList();
                var drop = own.Take(Math.Max(0, own.Count - (MaxPendingVersions - 1))).ToList();
                return (s with { Versions = [.. s.PendingVersions.Where(v => !drop.Contains(v)), version] }, drop);
            });
            foreach (var old in dropped)
            {
                File.Delete(store.ScriptPath(VersionFile(name, old.Version)));
            }
            return Api.Ok(new
            {
                id = version.Version,
                metadata = new { created_on = version.ModifiedOn, source = "wrangler" },
                resources = new { script = new { etag = version.Etag }, bindings = version.Bindings.Select(b => new { type = b.Type, name = b.Name }) },
                startup_time_ms = 0,
            });
        }).WithName("workers.versions.upload");
        account.MapPost("/workers/scripts/{name}/deployments", async (string name, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("versions", out var versions) || versions.ValueKind != JsonValueKind.Array)
            {
                return Api.Invalid("versions: the versions to deploy, with their percentages");
            }
            if (versions.GetArrayLength() != 1 || !versions[0].TryGetProperty("version_id", out var v) || v.Text() is not { } versionId
                || !versions[0].TryGetProperty("percentage", out var p) || !p.TryGetDouble(out var percentage) || percentage != 100)
            {
                return Api.Invalid("versions: one version at 100 percent (gradual deployments are not emulated)");
            }
            if (store.Snapshot.Scripts.FirstOrDefault(x => x.Name == name) is not { } current)
            {
                return Api.Error(StatusCodes.Status404NotFound, 10007, "This Worker does not exist on your account.");
            }
            if (current.Version != versionId)
            {
                if (store.Snapshot.PendingVersions.FirstOrDefault(x => x.Name == name && x.Version == versionId) is not { } pending)
                {
                    return Api.NotFound($"version {versionId}");
                }
                File.Move(store.ScriptPath(VersionFile(name, versionId)), store.ScriptPath(name), overwrite: true);
                current = store.Update(s =>
                {
                    var next = pending with { CreatedOn = current.CreatedOn };
                    return (s with
                    {
                        Scripts = [.. s.Scripts.Select(x => x.Name == name ? next : x)],
                        Versions = [.. s.PendingVersions.Where(x => x != pending)],
                    }, next);
                });
                if (await DeployAsync(deployer, current, ct) is { } failed)
                {
                    return failed;
                }
            }
            return Api.Ok(new
            {
                id = current.Version,
                source = "wrangler",
                strategy = "percentage",
                created_on = current.ModifiedOn,
                versions = new[] { new { version_id = current.Version, percentage = 100.0 } },
            });
        }).WithName("workers.deployments.create");
        // Logpush, tail consumers, observability and tags: accepted, not emulated (nothing here reads them).
        account.MapPatch("/workers/scripts/{name}/script-settings", async (string name, HttpRequest request) =>
            store.Snapshot.Scripts.Any(x => x.Name == name)
                ? Api.Ok(await ResourceEndpoints.ReadJsonAsync(request))
                : Api.Error(StatusCodes.Status404NotFound, 10007, "This Worker does not exist on your account.")).WithName("workers.script-settings.patch");

        account.MapDelete("/workers/scripts/{name}", async (string name, CancellationToken ct) =>
        {
            var pending = store.Snapshot.PendingVersions.Where(v => v.Name == name).ToList();
            var removed = store.Update(s => s.Scripts.Any(x => x.Name == name)
                ? (s with { Scripts = [.. s.Scripts.Where(x => x.Name != name)], Versions = [.. s.PendingVersions.Where(v => v.Name != name)] }, true)
                : (s, false));
            if (!removed)
            {
                return Api.NotFound($"script {name}");
            }
            if (supervisor.Find(name) is not null)
            {
                await supervisor.StopStackAsync(name, ct);
            }
            File.Delete(store.ScriptPath(name));
            foreach (var version in pending)
            {
                File.Delete(store.ScriptPath(VersionFile(name, version.Version)));
            }
            // The stack's own folder (egress log, replica slots) goes with it; its resources' data
            // lives in their own folders and goes when they are deleted.
            var stackDirectory = supervisor.StackDirectory(name);
            if (Directory.Exists(stackDirectory))
            {
                Directory.Delete(stackDirectory, recursive: true);
            }
            return Api.Ok(null);
        }).WithName("scripts.delete");
    }

    /// <summary>Uploaded versions kept per script until one is deployed.</summary>
    private const int MaxPendingVersions = 10;

    private static string VersionFile(string name, string version) => $"{name}@{version}";

    /// <summary>A script's code and its record, read from an upload (multipart: metadata and the modules), or why it is refused.</summary>
    private sealed record Upload(WorkerScriptRecord Record, string Code);

    private static async Task<(Upload? Upload, IResult? Refusal)> ReadUploadAsync(string name, HttpRequest request, ControlPlaneStore store,
        ScriptDeployer deployer, CancellationToken ct)
    {
        if (!StackName.IsValid(name))
        {
            return (null, Api.Invalid($"script_name: {StackName.Rule}"));
        }
        if (deployer.Hosts.IsHostName(name))
        {
            return (null, Api.Invalid($"script_name: '{name}' is the name of the stack that serves a resource no Worker binds; choose another name"));
        }
        if (!request.HasFormContentType)
        {
            return (null, Api.Invalid("content-type: upload a script as multipart/form-data with a 'metadata' part and its modules"));
        }
        var form = await request.ReadFormAsync(ct);
        var metadataText = form["metadata"].FirstOrDefault() ?? await ReadPartAsync(form.Files.GetFile("metadata"), ct);
        Metadata? metadata;
        try
        {
            metadata = metadataText is null ? null : JsonSerializer.Deserialize<Metadata>(metadataText, JsonSerializerOptions.Web);
        }
        catch (JsonException ex)
        {
            return (null, Api.Invalid($"metadata: not valid JSON ({ex.Message})"));
        }
        if (metadata?.MainModule is not { Length: > 0 } mainModule)
        {
            return (null, Api.Invalid("metadata.main_module: required (the ES module that exports the handlers)"));
        }
        if (metadata.CompatibilityDate is not { Length: > 0 } compatibilityDate || !DateOnly.TryParse(compatibilityDate, out _))
        {
            return (null, Api.Invalid("metadata.compatibility_date: required, as YYYY-MM-DD"));
        }
        var code = await ReadPartAsync(form.Files.GetFile(mainModule), ct);
        if (code is null)
        {
            return (null, Api.Invalid($"{mainModule}: the main module named in metadata was not uploaded"));
        }
        // Source maps (wrangler uploads one beside the bundle) are not modules.
        if (form.Files.Count(f => f.Name != "metadata" && !IsSourceMap(f)) > 1)
        {
            return (null, Api.Invalid("modules: upload one bundled ES module; the emulator does not link several"));
        }
        var bindings = (metadata.Bindings ?? []).Select(b => new WorkerBindingRecord(b.Type ?? "", b.Name ?? "", b.Id, b.BucketName, b.Jurisdiction, b.NamespaceId, b.Text)).ToList();
        if (bindings.FirstOrDefault(b => b.Type.Length == 0 || b.Name.Length == 0) is not null)
        {
            return (null, Api.Invalid("bindings: every binding needs a type and a name"));
        }
        // keep_bindings: the types of the deployed version's bindings this upload keeps unless it
        // names them itself (wrangler deploy keeps secrets this way).
        if (metadata.KeepBindings is { Length: > 0 } keep && store.Snapshot.Scripts.FirstOrDefault(x => x.Name == name) is { } deployed)
        {
            bindings.AddRange(deployed.Bindings.Where(b => keep.Contains(b.Type) && bindings.All(n => n.Name != b.Name)));
        }
        if (deployer.Validate(bindings) is { } problem)
        {
            return (null, Api.Invalid(problem));
        }
        var now = DateTimeOffset.UtcNow;
        var etag = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code)));
        var record = new WorkerScriptRecord(name, mainModule, compatibilityDate, metadata.CompatibilityFlags ?? [], bindings, now, now, etag, Guid.NewGuid().ToString());
        return (new Upload(record, code), null);
    }

    /// <summary>Starts or redeploys the script's stack; null when it runs, else the 400 saying why it did not start.</summary>
    private static async Task<IResult?> DeployAsync(ScriptDeployer deployer, WorkerScriptRecord record, CancellationToken ct)
    {
        try
        {
            await deployer.DeployAsync(record, ct);
            return null;
        }
        catch (Runtime.RuntimeHostException ex)
        {
            return Api.Invalid($"script {record.Name} failed to start: {ex.Message}");
        }
    }

    private static async Task<string?> ReadPartAsync(IFormFile? file, CancellationToken ct)
    {
        if (file is null)
        {
            return null;
        }
        using var reader = new StreamReader(file.OpenReadStream());
        return await reader.ReadToEndAsync(ct);
    }

    private static bool IsSourceMap(IFormFile file) =>
        file.ContentType == "application/source-map" || file.FileName.EndsWith(".map", StringComparison.Ordinal);

    internal static object Result(WorkerScriptRecord s) => new
    {
        id = s.Name,
        tag = s.Name,
        etag = s.Etag,
        deployment_id = s.Version,
        startup_time_ms = 0,
        last_deployed_from = "wrangler",
        created_on = s.CreatedOn,
        modified_on = s.ModifiedOn,
        compatibility_date = s.CompatibilityDate,
        compatibility_flags = s.CompatibilityFlags,
        handlers = new[] { "fetch" },
        usage_model = "standard",
    };

    /// <summary>The part of Cloudflare's upload metadata the emulator reads.</summary>
    private sealed record Metadata(
        [property: System.Text.Json.Serialization.JsonPropertyName("main_module")] string? MainModule,
        [property: System.Text.Json.Serialization.JsonPropertyName("compatibility_date")] string? CompatibilityDate,
        [property: System.Text.Json.Serialization.JsonPropertyName("compatibility_flags")] string[]? CompatibilityFlags,
        IReadOnlyList<Binding>? Bindings,
        [property: System.Text.Json.Serialization.JsonPropertyName("keep_bindings")] string[]? KeepBindings = null);

    private sealed record Binding(
        string? Type,
        string? Name,
        string? Id,
        [property: System.Text.Json.Serialization.JsonPropertyName("bucket_name")] string? BucketName,
        string? Jurisdiction,
        [property: System.Text.Json.Serialization.JsonPropertyName("namespace_id")] string? NamespaceId,
        string? Text);
}
