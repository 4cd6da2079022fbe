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
            if (!StackName.IsValid(name))
            {
                return Api.Invalid($"script_name: {StackName.Rule}");
            }
            if (!request.HasFormContentType)
            {
                return Api.Invalid("content-type: upload a script as multipart/form-data with a 'metadata' part and its modules");
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
                return Api.Invalid($"metadata: not valid JSON ({ex.Message})");
            }
            if (metadata?.MainModule is not { Length: > 0 } mainModule)
            {
                return Api.Invalid("metadata.main_module: required (the ES module that exports the handlers)");
            }
            if (metadata.CompatibilityDate is not { Length: > 0 } compatibilityDate || !DateOnly.TryParse(compatibilityDate, out _))
            {
                return Api.Invalid("metadata.compatibility_date: required, as YYYY-MM-DD");
            }
            var code = await ReadPartAsync(form.Files.GetFile(mainModule), ct);
            if (code is null)
            {
                return Api.Invalid($"{mainModule}: the main module named in metadata was not uploaded");
            }
            if (form.Files.Count(f => f.Name != "metadata") > 1)
            {
                return Api.Invalid("modules: upload one bundled ES module; the emulator does not link several");
            }
            var bindings = (metadata.Bindings ?? []).Select(b => new WorkerBindingRecord(b.Type ?? "", b.Name ?? "", b.Id, b.BucketName, b.Jurisdiction, b.NamespaceId, b.Text)).ToList();
            if (bindings.FirstOrDefault(b => b.Type.Length == 0 || b.Name.Length == 0) is not null)
            {
                return Api.Invalid("bindings: every binding needs a type and a name");
            }
            if (deployer.Validate(bindings) is { } problem)
            {
                return Api.Invalid(problem);
            }

            var now = DateTimeOffset.UtcNow;
            var etag = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code)));
            await File.WriteAllTextAsync(store.ScriptPath(name), code, ct);
            var record = store.Update(s =>
            {
                var existing = s.Scripts.FirstOrDefault(x => x.Name == name);
                var script = new WorkerScriptRecord(name, mainModule, compatibilityDate, metadata.CompatibilityFlags ?? [], bindings,
                    existing?.CreatedOn ?? now, now, etag);
                return (s with { Scripts = [.. s.Scripts.Where(x => x.Name != name), script] }, script);
            });
            try
            {
                await deployer.DeployAsync(record, ct);
            }
            catch (Runtime.RuntimeHostException ex)
            {
                return Api.Invalid($"script {name} failed to start: {ex.Message}");
            }
            return Api.Ok(Result(record));
        }).WithName("scripts.upload");

        account.MapDelete("/workers/scripts/{name}", async (string name, CancellationToken ct) =>
        {
            var removed = store.Update(s => s.Scripts.Any(x => x.Name == name)
                ? (s with { Scripts = [.. s.Scripts.Where(x => x.Name != name)] }, true)
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

    private static async Task<string?> ReadPartAsync(IFormFile? file, CancellationToken ct)
    {
        if (file is null)
        {
            return null;
        }
        using var reader = new StreamReader(file.OpenReadStream());
        return await reader.ReadToEndAsync(ct);
    }

    private static object Result(WorkerScriptRecord s) => new
    {
        id = s.Name,
        etag = s.Etag,
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
        IReadOnlyList<Binding>? Bindings);

    private sealed record Binding(
        string? Type,
        string? Name,
        string? Id,
        [property: System.Text.Json.Serialization.JsonPropertyName("bucket_name")] string? BucketName,
        string? Jurisdiction,
        [property: System.Text.Json.Serialization.JsonPropertyName("namespace_id")] string? NamespaceId,
        string? Text);
}
