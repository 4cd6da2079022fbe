using Aspire.Hosting.ApplicationModel;

namespace Cloudflare.Emulation.Hosting;

/// <summary>The local Cloudflare: the runtime host and the supervisor of every stack.</summary>
public sealed class CloudflareEmulatorResource(string name) : Resource(name)
{
    public const string ResourceType = "CloudflareEmulator";
}

/// <summary>What a stack is for: the shared platform, or one account's own stack.</summary>
public enum StackKind
{
    Platform,
    Account,
}

/// <summary>
/// One Worker stack (a Worker in its own workerd, with its D1, R2 and KV). Its <c>http</c> endpoint is
/// the Worker's URL once it runs (so <c>WithReference(platform)</c> hands another resource that URL),
/// and it can <c>WaitFor</c> another resource: accounts wait for the platform that provisions them.
/// It is shown under its emulator by a parent relationship, not as an Aspire child: Aspire lets no
/// resource wait for a sibling's parent, so children of one emulator could not wait for each other.
/// </summary>
public sealed class WorkerStackResource(string name, StackKind kind, CloudflareEmulatorResource emulator)
    : Resource(name), IResourceWithEndpoints, IResourceWithWaitSupport
{
    public const string ResourceType = "Worker";

    /// <summary>The name of the endpoint the Worker serves on.</summary>
    public const string HttpEndpointName = "http";

    /// <summary>The Worker's URL, for <c>WithReference</c> (allocated when the stack first runs).</summary>
    public EndpointReference HttpEndpoint => new(this, HttpEndpointName);

    public StackKind Kind { get; } = kind;

    /// <summary>The emulator that runs the stack.</summary>
    public CloudflareEmulatorResource Emulator { get; } = emulator;

    /// <summary>The Worker folder under workers/ that this stack runs.</summary>
    public string Worker => Kind == StackKind.Platform ? "platform" : "account";

    /// <summary>
    /// The supervisor's name for the stack. An account row names the account (its slug); its stack is
    /// the script provisioning deploys for it, acct-&lt;slug&gt;.
    /// </summary>
    public string StackName => Kind == StackKind.Platform || Name.StartsWith(AccountScriptPrefix, StringComparison.Ordinal) ? Name : AccountScriptPrefix + Name;

    /// <summary>The account's slug: the row's name, or for a row named after its script (acct-&lt;slug&gt;), the slug in it.</summary>
    public string AccountSlug => Supervision.StackName.RowNameOf(Name);

    /// <summary>Provisioning names an account's script acct-&lt;slug&gt; (workers/platform/src/provisioning).</summary>
    public const string AccountScriptPrefix = Supervision.StackName.AccountScriptPrefix;

    internal List<StackBindingResource> Bindings { get; } = [];
}

/// <summary>A resource bound to a stack (D1 database, R2 bucket, KV namespace), shown as its child row.</summary>
public sealed class StackBindingResource(string name, string resourceType, string binding, WorkerStackResource parent)
    : Resource(name), IResourceWithParent<WorkerStackResource>
{
    public const string D1 = "D1";
    public const string R2 = "R2";
    public const string Kv = "KV";

    /// <summary>D1, R2 or KV.</summary>
    public string ResourceType { get; } = resourceType;

    /// <summary>The binding name the Worker sees (env.DB, env.DOCUMENTS, env.CACHE).</summary>
    public string Binding { get; } = binding;

    public WorkerStackResource Parent { get; } = parent;
}

/// <summary>The local Cloudflare v4 API (D1, R2, KV, Worker scripts) that provisioning talks to.</summary>
public sealed class CloudflareApiResource(string name, CloudflareEmulatorResource parent)
    : Resource(name), IResourceWithParent<CloudflareEmulatorResource>
{
    public const string ResourceType = "CloudflareApi";

    public CloudflareEmulatorResource Parent { get; } = parent;
}
