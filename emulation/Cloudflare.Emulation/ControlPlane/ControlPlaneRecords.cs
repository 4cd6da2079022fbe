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

/// <summary>
/// An uploaded Worker script: its code is stored beside the state, its bindings here. Each upload
/// (and each change of its secrets) is a new version, deployed at once to all its traffic.
/// </summary>
public sealed record WorkerScriptRecord(string Name, string MainModule, string CompatibilityDate, IReadOnlyList<string> CompatibilityFlags,
    IReadOnlyList<WorkerBindingRecord> Bindings, DateTimeOffset CreatedOn, DateTimeOffset ModifiedOn, string Etag, string? VersionId = null)
{
    /// <summary>The version that serves (state files from before versions existed have none: the etag's first 32 hex digits stand in).</summary>
    public string Version => VersionId ?? Guid.ParseExact(Etag[..32], "N").ToString();
}

/// <summary>Everything the control plane knows; persisted as one JSON file.</summary>
public sealed record ControlPlaneSnapshot(
    IReadOnlyList<D1DatabaseRecord> Databases,
    IReadOnlyList<R2BucketRecord> Buckets,
    IReadOnlyList<KvNamespaceRecord> Namespaces,
    IReadOnlyList<WorkerScriptRecord> Scripts,
    IReadOnlyList<ApiTokenRecord>? Tokens = null,
    IReadOnlyList<RegionalHostnameRecord>? RegionalHostnames = null,
    IReadOnlyList<WorkerScriptRecord>? Versions = null,
    IReadOnlyList<CustomHostnameRecord>? CustomHostnames = null)
{
    /// <summary>Cloudflare for SaaS custom hostnames of the tenants' zone (none in state files from before them).</summary>
    public IReadOnlyList<CustomHostnameRecord> AllCustomHostnames => CustomHostnames ?? [];

    /// <summary>Versions uploaded (wrangler deploy's first step) and not deployed yet; their code is beside each script's.</summary>
    public IReadOnlyList<WorkerScriptRecord> PendingVersions => Versions ?? [];

    public static readonly ControlPlaneSnapshot Empty = new([], [], [], [], [], []);

    /// <summary>Regional Services settings of the tenants' zone (none in state files from before they existed).</summary>
    public IReadOnlyList<RegionalHostnameRecord> AllRegionalHostnames => RegionalHostnames ?? [];

    /// <summary>Account API tokens (state files from before tokens existed have none).</summary>
    public IReadOnlyList<ApiTokenRecord> AllTokens => Tokens ?? [];
}

/// <summary>
/// An account API token scoped to one R2 bucket. As on Cloudflare, its id is the S3 access key id and
/// the SHA-256 of its value the secret access key; the value itself is shown once and not kept.
/// </summary>
public sealed record ApiTokenRecord(string Id, string Name, string Bucket, string SecretAccessKey, DateTimeOffset IssuedOn);

/// <summary>A host name of the tenants' zone pinned to a Regional Services region (where its traffic is processed).</summary>
public sealed record RegionalHostnameRecord(string Hostname, string RegionKey, DateTimeOffset CreatedOn);
