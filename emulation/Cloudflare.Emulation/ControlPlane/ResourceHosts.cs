using System.Security.Cryptography;
using System.Text;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>A D1 database, R2 bucket or KV namespace, by the binding type that names its kind and its id (uuid, bucket name, namespace id).</summary>
public sealed record ResourceRef(string BindingType, string Id)
{
    public static ResourceRef Database(string uuid) => new("d1", uuid);

    public static ResourceRef Bucket(string name) => new("r2_bucket", name);

    public static ResourceRef Namespace(string id) => new("kv_namespace", id);

    /// <summary>The resource a binding names, or null for a binding that is no resource (a variable, a secret).</summary>
    public static ResourceRef? Of(WorkerBindingRecord binding) => binding.Type switch
    {
        "d1" => Database(binding.Id!),
        "r2_bucket" => Bucket(binding.BucketName!),
        "kv_namespace" => Namespace(binding.NamespaceId!),
        _ => null,
    };

    /// <summary>The folder kind its data lives under (<see cref="ControlPlaneStore.ResourceDirectory"/>).</summary>
    public string Folder => BindingType switch
    {
        "d1" => "d1",
        "r2_bucket" => "r2",
        _ => "kv",
    };

    public bool IsBoundBy(WorkerBindingRecord binding) => binding.Type == BindingType && BindingType switch
    {
        "d1" => binding.Id == Id,
        "r2_bucket" => binding.BucketName == Id,
        _ => binding.NamespaceId == Id,
    };
}

/// <summary>Where a resource's data is served from right now: a stack and the binding name it gives the resource there.</summary>
public sealed record ResourceServer(string Stack, string Binding);

/// <summary>
/// Serves each resource from exactly one stack, as its files allow one workerd at a time: the stack
/// of the script that binds it, or — for a resource no script binds — a stack of its own, started
/// on first use, since at Cloudflare a database, bucket or namespace needs no Worker (ADR 0027).
/// A script that binds the resource later takes over: its deploy stops the resource's own stack.
/// </summary>
public sealed class ResourceHosts(ControlPlaneStore store, StackSupervisor supervisor) : IDisposable
{
    /// <summary>How long a resource's own stack may go unused before it is stopped (the next call starts it again).</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(5);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<ResourceRef, DateTimeOffset> _lastUsed = new();
    private readonly CancellationTokenSource _closing = new();
    private int _idleLoop;
    private int _disposed;

    /// <summary>The binding name a resource's own stack gives it.</summary>
    public const string Binding = "RESOURCE";

    // Not "upload": a resource host is not a deployed script, and gets no dashboard row of its own.
    private const string Worker = "resource-host";
    private const string CompatibilityDate = "2026-07-01";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ResourceRef, SemaphoreSlim> _gates = new();

    private const string Module = "export default { fetch() { return new Response(\"This stack only serves a resource to the Cloudflare API.\", { status: 404 }); } };";

    /// <summary>
    /// The name of a resource's own stack: its kind and id (d1-&lt;uuid&gt;, kv-&lt;id&gt;, r2-&lt;bucket&gt;), or a
    /// hash of the id where that would not be a stack name (a bucket name of more than 60 characters).
    /// </summary>
    public static string HostName(ResourceRef resource)
    {
        var name = $"{resource.Folder}-{resource.Id}";
        return StackName.IsValid(name)
            ? name
            : $"{resource.Folder}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(resource.Id)))[..40]}";
    }

    /// <summary>Whether a script name is taken by the own stack of an existing resource.</summary>
    public bool IsHostName(string name)
    {
        var snapshot = store.Snapshot;
        return snapshot.Databases.Select(d => ResourceRef.Database(d.Uuid))
            .Concat(snapshot.Buckets.Select(b => ResourceRef.Bucket(b.Name)))
            .Concat(snapshot.Namespaces.Select(n => ResourceRef.Namespace(n.Id)))
            .Any(r => HostName(r) == name);
    }

    /// <summary>The stack serving a resource: the script that binds it, or its own stack (started now if it is not running).</summary>
    /// <exception cref="RuntimeHostException">Its own stack could not start, or its name is a deployed Worker's.</exception>
    public async Task<ResourceServer> ServingAsync(ResourceRef resource, CancellationToken cancellationToken)
    {
        if (BoundBy(resource) is { } bound)
        {
            return bound;
        }
        var name = HostName(resource);
        _lastUsed[resource] = DateTimeOffset.UtcNow;
        if (_disposed == 0 && Interlocked.Exchange(ref _idleLoop, 1) == 0)
        {
            _ = StopIdleLoopAsync(_closing.Token);
        }
        if (supervisor.Find(name) is { State: StackState.Running, Worker: Worker })
        {
            return new ResourceServer(name, Binding);
        }
        // One start or stop at a time per resource: two first calls would otherwise start its stack
        // twice, or a call would start it again just after a deploy or a delete stopped it.
        var gate = _gates.GetOrAdd(resource, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            // A deploy may have bound it meanwhile: the store says so before the deploy stops this stack.
            if (BoundBy(resource) is { } nowBound)
            {
                return nowBound;
            }
            switch (supervisor.Find(name))
            {
                case { Worker: not Worker }:
                    throw new RuntimeHostException($"a deployed Worker is named '{name}', the name of this resource's own stack");
                case { State: StackState.Starting or StackState.Reloading }:
                    await supervisor.SettledAsync(name, TimeSpan.FromSeconds(30), cancellationToken);
                    break;
                case { State: StackState.Running }:
                    break;
                default:
                    await supervisor.RedeployStackAsync(Define(name, resource), cancellationToken);
                    break;
            }
        }
        finally
        {
            gate.Release();
        }
        return new ResourceServer(name, Binding);
    }

    /// <summary>Stops a resource's own stack, if it runs (a script binds the resource now, or it is deleted).</summary>
    public async Task StopAsync(ResourceRef resource, CancellationToken cancellationToken)
    {
        var name = HostName(resource);
        var gate = _gates.GetOrAdd(resource, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            // Never a deployed Worker's stack that happens to have the name.
            if (supervisor.Find(name) is { State: not StackState.Stopped, Worker: Worker })
            {
                await supervisor.StopStackAsync(name, cancellationToken);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Stops every resource's own stack unused for <paramref name="idleFor"/> (each costs a workerd
    /// while it runs); returns how many. A call that uses one meanwhile keeps it.
    /// </summary>
    public async Task<int> StopIdleAsync(TimeSpan idleFor, CancellationToken cancellationToken)
    {
        var stopped = 0;
        foreach (var (resource, used) in _lastUsed)
        {
            if (DateTimeOffset.UtcNow - used < idleFor || supervisor.Find(HostName(resource)) is not { State: StackState.Running, Worker: Worker })
            {
                continue;
            }
            var gate = _gates.GetOrAdd(resource, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellationToken);
            try
            {
                if (_lastUsed.TryGetValue(resource, out var now) && now == used && supervisor.Find(HostName(resource)) is { State: StackState.Running, Worker: Worker })
                {
                    await supervisor.StopStackAsync(HostName(resource), cancellationToken);
                    stopped++;
                }
            }
            finally
            {
                gate.Release();
            }
        }
        return stopped;
    }

    private async Task StopIdleLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await StopIdleAsync(IdleAfter, cancellationToken);
                }
                catch (RuntimeHostException)
                {
                    // A stack that cannot be stopped now is tried again at the next tick.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The control plane is closing.
        }
    }

    /// <summary>Ends the idle check (the control plane is closing); safe to call more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _closing.Cancel();
            _closing.Dispose();
        }
    }

    /// <summary>The stack of the script that binds the resource, if one does.</summary>
    private ResourceServer? BoundBy(ResourceRef resource) =>
        store.Snapshot.Scripts
            .SelectMany(s => s.Bindings.Where(resource.IsBoundBy).Select(b => new ResourceServer(s.Name, b.Name)))
            .FirstOrDefault();

    private StackDefinition Define(string name, ResourceRef resource)
    {
        var one = new Dictionary<string, string> { [Binding] = resource.Id };
        var none = new Dictionary<string, string>();
        var folder = store.ResourceDirectory(resource.Folder, resource.Id);
        return new StackDefinition(name, Worker,
            D1: resource.BindingType == "d1" ? one : none,
            R2: resource.BindingType == "r2_bucket" ? one : none,
            Kv: resource.BindingType == "kv_namespace" ? one : none,
            Vars: none,
            Script: new UploadedScript(Module, CompatibilityDate, []),
            Persist: new StackPersistence(
                resource.BindingType == "d1" ? folder : null,
                resource.BindingType == "r2_bucket" ? folder : null,
                resource.BindingType == "kv_namespace" ? folder : null),
            R2Credentials: resource.BindingType == "r2_bucket" ? ScriptDeployer.S3CredentialsOf(store, resource.Id) : null);
    }
}
