using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The routes <c>wrangler deploy</c> and <c>wrangler secret</c> call around a script upload: the
/// service a script belongs to, its settings, deployments and workers.dev route, and its secrets.
/// Each upload is one version deployed to all traffic at once, as <c>wrangler deploy</c> does; gradual
/// deployments (two versions sharing traffic) are not emulated.
/// </summary>
internal static class DeployEndpoints
{
    /// <summary>Cloudflare's code for a script that is not there (wrangler treats it as "not deployed yet").</summary>
    private const int WorkerNotFound = 10007;

    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, ScriptDeployer deployer)
    {
        account.MapGet("/workers/services/{name}", (string name) => OnScript(store, name, script => Api.Ok(new
        {
            id = script.Name,
            created_on = script.CreatedOn,
            modified_on = script.ModifiedOn,
            default_environment = new
            {
                environment = "production",
                created_on = script.CreatedOn,
                modified_on = script.ModifiedOn,
                script = ScriptEndpoints.Result(script),
            },
        }))).WithName("workers.services.get");
        // The newer Workers API's view of a script: wrangler reads its workers.dev route here.
        account.MapGet("/workers/workers/{name}", (string name) => OnScript(store, name, script => Api.Ok(new
        {
            id = script.Name,
            name = script.Name,
            created_on = script.CreatedOn,
            updated_on = script.ModifiedOn,
            subdomain = WorkersDev,
            tags = Array.Empty<string>(),
        }))).WithName("workers.workers.get");
        account.MapGet("/workers/scripts/{name}/settings", (string name) => OnScript(store, name, script => Api.Ok(new
        {
            bindings = script.Bindings.Select(Visible),
            compatibility_date = script.CompatibilityDate,
            compatibility_flags = script.CompatibilityFlags,
            usage_model = "standard",
            logpush = false,
            tags = Array.Empty<string>(),
        }))).WithName("workers.settings.get");
        account.MapGet("/workers/scripts/{name}/deployments", (string name) => OnScript(store, name, script => Api.Ok(new
        {
            deployments = new[]
            {
                new
                {
                    id = script.Version,
                    source = "wrangler",
                    strategy = "percentage",
                    created_on = script.ModifiedOn,
                    versions = new[] { new { version_id = script.Version, percentage = 100.0 } },
                },
            },
        }))).WithName("workers.deployments.list");
        // Every stack answers on its workers.dev host name; the route cannot be turned off here.
        account.MapGet("/workers/scripts/{name}/subdomain", (string name) => OnScript(store, name, _ => Api.Ok(WorkersDev))).WithName("workers.script-subdomain.get");
        account.MapPost("/workers/scripts/{name}/subdomain", async (string name, HttpRequest request) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("enabled", out var enabled) || enabled.ValueKind is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
            {
                return Api.Invalid("enabled: true or false");
            }
            if (enabled.ValueKind == System.Text.Json.JsonValueKind.False)
            {
                return Api.Invalid("enabled: the emulator serves every script on its workers.dev host; it cannot be turned off");
            }
            return OnScript(store, name, _ => Api.Ok(WorkersDev));
        }).WithName("workers.script-subdomain.set");

        account.MapGet("/workers/scripts/{name}/secrets", (string name) => OnScript(store, name, script =>
            Api.Ok(script.Bindings.Where(b => b.Type == "secret_text").Select(b => new { name = b.Name, type = b.Type })))).WithName("workers.secrets.list");
        account.MapPut("/workers/scripts/{name}/secrets", async (string name, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("name", out var n) || n.Text() is not { Length: > 0 } secretName)
            {
                return Api.Invalid("name: the secret's name is required");
            }
            if (!body.Value.TryGetProperty("text", out var t) || t.Text() is not { } text)
            {
                return Api.Invalid("text: the secret's value is required");
            }
            if (body.Value.TryGetProperty("type", out var type) && type.Text() is not ("secret_text" or null))
            {
                return Api.Invalid("type: only secret_text secrets are emulated");
            }
            return await ChangeSecretsAsync(store, deployer, name, bindings =>
            {
                if (bindings.FirstOrDefault(b => b.Name == secretName && b.Type != "secret_text") is { } other)
                {
                    return (null, Api.Invalid($"name: '{secretName}' is already a {other.Type} binding of this script"));
                }
                return ([.. bindings.Where(b => b.Name != secretName), new WorkerBindingRecord("secret_text", secretName, Text: text)], null);
            }, new { name = secretName, type = "secret_text" }, ct);
        }).WithName("workers.secrets.put");
        account.MapDelete("/workers/scripts/{name}/secrets/{secret}", (string name, string secret, CancellationToken ct) =>
            ChangeSecretsAsync(store, deployer, name, bindings => bindings.Any(b => b.Name == secret && b.Type == "secret_text")
                ? ([.. bindings.Where(b => b.Name != secret)], null)
                : (null, Api.NotFound($"secret {secret}")), null, ct)).WithName("workers.secrets.delete");
    }

    private static readonly object WorkersDev = new { enabled = true, previews_enabled = false };

    private static IResult OnScript(ControlPlaneStore store, string name, Func<WorkerScriptRecord, IResult> answer) =>
        store.Snapshot.Scripts.FirstOrDefault(s => s.Name == name) is { } script ? answer(script) : NoSuchWorker();

    private static IResult NoSuchWorker() => Api.Error(StatusCodes.Status404NotFound, WorkerNotFound, "This Worker does not exist on your account.");

    /// <summary>A binding as settings show it: a secret's value is never shown.</summary>
    private static object Visible(WorkerBindingRecord b) => b.Type switch
    {
        "d1" => new { type = b.Type, name = b.Name, id = b.Id },
        "r2_bucket" => new { type = b.Type, name = b.Name, bucket_name = b.BucketName, jurisdiction = b.Jurisdiction },
        "kv_namespace" => new { type = b.Type, name = b.Name, namespace_id = b.NamespaceId },
        "plain_text" => new { type = b.Type, name = b.Name, text = b.Text },
        _ => (object)new { type = b.Type, name = b.Name },
    };

    /// <summary>A change of a script's secrets: a new version of it, deployed at once (as at Cloudflare).</summary>
    private static async Task<IResult> ChangeSecretsAsync(ControlPlaneStore store, ScriptDeployer deployer, string name,
        Func<IReadOnlyList<WorkerBindingRecord>, (IReadOnlyList<WorkerBindingRecord>? Bindings, IResult? Refusal)> change, object? result, CancellationToken ct)
    {
        var (record, refusal) = store.Update(s =>
        {
            if (s.Scripts.FirstOrDefault(x => x.Name == name) is not { } script)
            {
                return (s, ((WorkerScriptRecord?)null, (IResult?)NoSuchWorker()));
            }
            var (bindings, refusal) = change(script.Bindings);
            if (bindings is null)
            {
                return (s, (null, refusal));
            }
            var next = script with { Bindings = bindings, ModifiedOn = DateTimeOffset.UtcNow, VersionId = Guid.NewGuid().ToString() };
            return (s with { Scripts = [.. s.Scripts.Select(x => x.Name == name ? next : x)] }, (next, null));
        });
        if (record is null)
        {
            return refusal!;
        }
        try
        {
            await deployer.DeployAsync(record, ct);
        }
        catch (Runtime.RuntimeHostException ex)
        {
            return Api.Invalid($"script {name} failed to start with its new secrets: {ex.Message}");
        }
        return Api.Ok(result);
    }
}
