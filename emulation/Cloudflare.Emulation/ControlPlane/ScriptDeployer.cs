using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// Turns an uploaded script into a running stack bound to exactly the resources its metadata
/// declares, each resource's data in its own folder. Also brings every deployed script back after
/// a restart of the harness.
/// </summary>
public sealed class ScriptDeployer(ControlPlaneStore store, StackSupervisor supervisor, ResidencyPolicy residency)
{
    /// <summary>Checks the bindings against the control plane's resources; null when they are all valid.</summary>
    public string? Validate(IReadOnlyList<WorkerBindingRecord> bindings)
    {
        var snapshot = store.Snapshot;
        foreach (var kind in new[] { "d1", "r2_bucket", "kv_namespace" })
        {
            // One folder per resource kind per stack: Miniflare persists each kind under one path.
            if (bindings.Count(b => b.Type == kind) > 1)
            {
                return $"bindings: the emulator supports one {kind} binding per script";
            }
        }
        foreach (var binding in bindings)
        {
            switch (binding.Type)
            {
                case "d1":
                    var database = snapshot.Databases.FirstOrDefault(d => d.Uuid == binding.Id);
                    if (database is null)
                    {
                        return $"bindings.{binding.Name}: no D1 database {binding.Id}";
                    }
                    if (!residency.AllowsJurisdiction(database.Jurisdiction))
                    {
                        return $"bindings.{binding.Name}: database {database.Name} has jurisdiction '{database.Jurisdiction ?? "none"}'; the residency policy allows only {string.Join(", ", residency.Jurisdictions)}";
                    }
                    break;
                case "r2_bucket":
                    var bucket = snapshot.Buckets.FirstOrDefault(b => b.Name == binding.BucketName);
                    if (bucket is null)
                    {
                        return $"bindings.{binding.Name}: no R2 bucket {binding.BucketName}";
                    }
                    if ((binding.Jurisdiction ?? "default") != bucket.Jurisdiction)
                    {
                        return $"bindings.{binding.Name}: bucket {bucket.Name} is in jurisdiction '{bucket.Jurisdiction}', the binding says '{binding.Jurisdiction ?? "default"}'";
                    }
                    if (!residency.AllowsJurisdiction(bucket.Jurisdiction))
                    {
                        return $"bindings.{binding.Name}: bucket {bucket.Name} is in jurisdiction '{bucket.Jurisdiction}'; the residency policy allows only {string.Join(", ", residency.Jurisdictions)}";
                    }
                    break;
                case "kv_namespace" when snapshot.Namespaces.All(n => n.Id != binding.NamespaceId):
                    return $"bindings.{binding.Name}: no KV namespace {binding.NamespaceId}";
                case "kv_namespace" or "plain_text" or "secret_text":
                    break;
                default:
                    return $"bindings.{binding.Name}: binding type '{binding.Type}' is not supported by the emulator";
            }
        }
        return null;
    }

    /// <summary>Starts the stack that runs <paramref name="script"/>, or deploys its new code and bindings in place.</summary>
    public async Task<StackStatus> DeployAsync(WorkerScriptRecord script, CancellationToken cancellationToken)
    {
        // A resource is served by one stack at a time (two workerd on one SQLite file would contend):
        // the script that binds it takes over from the resource's own stack.
        foreach (var resource in script.Bindings.Select(ResourceRef.Of).OfType<ResourceRef>())
        {
            await Hosts.StopAsync(resource, cancellationToken);
        }
        return await supervisor.RedeployStackAsync(Define(script), cancellationToken);
    }

    /// <summary>The stacks that serve resources no script binds.</summary>
    public ResourceHosts Hosts { get; } = new(store, supervisor);

    /// <summary>
    /// Deploys new code to every script whose name starts with <paramref name="prefix"/>, keeping
    /// their bindings and data (a rollout of a new release to every provisioned account).
    /// </summary>
    public async Task<int> RolloutAsync(string prefix, string code, CancellationToken cancellationToken)
    {
        var etag = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(code)));
        // Every save redeploys, even an unchanged one, as `wrangler dev` reloads on every save.
        var scripts = store.Snapshot.Scripts.Where(s => s.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        foreach (var script in scripts)
        {
            await File.WriteAllTextAsync(store.ScriptPath(script.Name), code, cancellationToken);
            var updated = store.Update(s =>
            {
                var next = script with { Etag = etag, ModifiedOn = DateTimeOffset.UtcNow };
                return (s with { Scripts = [.. s.Scripts.Select(x => x.Name == script.Name ? next : x)] }, next);
            });
            await DeployAsync(updated, cancellationToken);
        }
        return scripts.Count;
    }

    /// <summary>
    /// Starts every deployed script again (after a restart of the harness). One that cannot start is
    /// skipped — its stack is left failed, saying why — and the others are restored all the same.
    /// </summary>
    /// <returns>Each script that could not be restored, and why.</returns>
    public async Task<IReadOnlyList<(string Script, string Error)>> RestoreAllAsync(CancellationToken cancellationToken)
    {
        var failures = new List<(string, string)>();
        foreach (var script in store.Snapshot.Scripts)
        {
            if (supervisor.Find(script.Name) is not null)
            {
                continue;
            }
            try
            {
                await supervisor.StartStackAsync(Define(script), cancellationToken);
            }
            catch (Exception ex) when (ex is RuntimeHostException or IOException or ArgumentException or InvalidOperationException)
            {
                failures.Add((script.Name, ex.Message));
            }
        }
        return failures;
    }

    private StackDefinition Define(WorkerScriptRecord script)
    {
        string? Folder(string type) => script.Bindings.FirstOrDefault(b => b.Type == type) is { } binding && ResourceRef.Of(binding) is { } resource
            ? store.ResourceDirectory(resource.Folder, resource.Id)
            : null;

        return new StackDefinition(script.Name, "upload",
            D1: script.Bindings.Where(b => b.Type == "d1").ToDictionary(b => b.Name, b => b.Id!),
            R2: script.Bindings.Where(b => b.Type == "r2_bucket").ToDictionary(b => b.Name, b => b.BucketName!),
            Kv: script.Bindings.Where(b => b.Type == "kv_namespace").ToDictionary(b => b.Name, b => b.NamespaceId!),
            Vars: script.Bindings.Where(b => b.Type is "plain_text" or "secret_text").ToDictionary(b => b.Name, b => b.Text ?? ""),
            Script: new UploadedScript(File.ReadAllText(store.ScriptPath(script.Name)), script.CompatibilityDate, script.CompatibilityFlags),
            Persist: new StackPersistence(Folder("d1"), Folder("r2_bucket"), Folder("kv_namespace")),
            R2Credentials: S3CredentialsFor(script));
    }

    /// <summary>The newest token of each bucket the script binds: what the local S3 endpoint accepts for it.</summary>
    private Dictionary<string, S3Credentials> S3CredentialsFor(WorkerScriptRecord script)
    {
        var credentials = new Dictionary<string, S3Credentials>(StringComparer.Ordinal);
        foreach (var bucket in script.Bindings.Where(b => b.Type == "r2_bucket").Select(b => b.BucketName!))
        {
            foreach (var (name, key) in S3CredentialsOf(store, bucket))
            {
                credentials[name] = key;
            }
        }
        return credentials;
    }

    /// <summary>The newest token issued for a bucket, as the S3 credentials its stack accepts (none before a token is issued).</summary>
    internal static Dictionary<string, S3Credentials> S3CredentialsOf(ControlPlaneStore store, string bucket) =>
        store.Snapshot.AllTokens.Where(t => t.Bucket == bucket).MaxBy(t => t.IssuedOn) is { } token
            ? new() { [bucket] = new S3Credentials(token.Id, token.SecretAccessKey) }
            : [];
}
