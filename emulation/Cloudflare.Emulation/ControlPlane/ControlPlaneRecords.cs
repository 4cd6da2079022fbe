namespace Cloudflare.Emulation.ControlPlane;

/// <summary>A D1 database created through the API.</summary>
public sealed record D1DatabaseRecord(string Uuid, string Name, string? Jurisdiction, DateTimeOffset CreatedAt);

/// <summary>An R2 bucket created through the API (jurisdiction from the cf-r2-jurisdiction header).</summary>
public sealed record R2BucketRecord(string Name, string Jurisdiction, string? LocationHint, DateTimeOffset CreationDate);

/// <summary>A KV namespace created through the API.</summary>
public sealed record KvNamespaceRecord(string Id, string Title);

/// <summary>One binding a script declares in its upload metadata (Cloudflare's shape, the fields we use).</summary>
public sealed record WorkerBindingRecord(string Type, string Name, string? Id = null, string? BucketName = null, string? Jurisdiction = null,
    string? NamespaceId = null, string? Text = null);

/// <summary>An uploaded Worker script: its code is stored beside the state, its bindings here.</summary>
public sealed record WorkerScriptRecord(string Name, string MainModule, string CompatibilityDate, IReadOnlyList<string> CompatibilityFlags,
    IReadOnlyList<WorkerBindingRecord> Bindings, DateTimeOffset CreatedOn, DateTimeOffset ModifiedOn, string Etag);

/// <summary>Everything the control plane knows; persisted as one JSON file.</summary>
public sealed record ControlPlaneSnapshot(
    IReadOnlyList<D1DatabaseRecord> Databases,
    IReadOnlyList<R2BucketRecord> Buckets,
    IReadOnlyList<KvNamespaceRecord> Namespaces,
    IReadOnlyList<WorkerScriptRecord> Scripts)
{
    public static readonly ControlPlaneSnapshot Empty = new([], [], [], []);
}
