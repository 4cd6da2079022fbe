using System.Collections.Immutable;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Seeding;
using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// Brings the emulator's stacks up when the application starts and mirrors the supervisor into the
/// dashboard: one row per stack (state, URL, health, workerd logs) with child rows for its D1, R2 and KV.
/// </summary>
internal sealed class CloudflareEmulatorLifecycle(
    StackSupervisor supervisor,
    ControlPlaneHandle controlPlane,
    TokenIssuer tokens,
    HarnessOptions options,
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    ResourceLoggerService loggers,
    IInteractionService interactions,
    Microsoft.Extensions.Configuration.IConfiguration configuration,
    ILogger<CloudflareEmulatorLifecycle> logger)
{
    // Signups deploy a Worker and run migrations, and seeding sends thousands of rows: minutes, not seconds.
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>A call to the platform or an account that failed or timed out (not the harness stopping).</summary>
    private static bool IsFailedCall(Exception ex) => ex is HttpRequestException or TaskCanceledException { InnerException: TimeoutException };
    private const int ParallelStarts = 4;

    // Stacks by name: the model's rows, plus rows made at run time for scripts deployed through the
    // control plane (accounts provisioned while the harness runs). Aspire cannot add resources to a
    // running model, so those rows are published straight to the dashboard.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, WorkerStackResource> _stacks = new();
    private CloudflareEmulatorResource? _emulator;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _provisioned = new();

    /// <summary>True once the row's account is active (signed up and provisioned) and has its owner.</summary>
    public bool IsProvisioned(WorkerStackResource stack) => _provisioned.ContainsKey(stack.Name);
    private string? _adminToken;

    public async Task StartAsync(CloudflareEmulatorResource emulator, CancellationToken cancellationToken)
    {
        _emulator = emulator;
        foreach (var stack in model.Resources.OfType<WorkerStackResource>().Where(s => s.Parent == emulator))
        {
            _stacks[stack.StackName] = stack;
        }
        supervisor.StackChanged += status =>
        {
            _ = PublishStackAsync(status);
            WriteEndpoints();
        };
        supervisor.LogReceived += line => Log(line);
        supervisor.SourceChanged += worker => _ = RolloutAsync(worker);

        await Publish(emulator, s => s with { State = KnownResourceStates.Starting });
        try
        {
            await supervisor.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HarnessConfigurationException or Runtime.RuntimeHostException)
        {
            loggers.GetLogger(emulator).LogError("{Message}", ex.Message);
            await Publish(emulator, s => s with { State = KnownResourceStates.FailedToStart });
            throw;
        }
        _adminToken = PlatformSecrets.LoadOrCreateAdminToken(options.StateRoot);
        await Publish(emulator, s => s with
        {
            State = KnownResourceStates.Running,
            StartTimeStamp = DateTime.UtcNow,
            Properties = s.Properties.SetItem("harness.node", supervisor.NodeVersion?.ToString() ?? "")
                .SetItem("harness.hostPid", supervisor.HostProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""),
        });

        await StartControlPlaneAsync(emulator, cancellationToken);

        // The platform first: it provisions every account.
        foreach (var platform in _stacks.Values.Where(s => s.Kind == StackKind.Platform))
        {
            await StartStackAsync(platform, cancellationToken);
        }
        // Every script deployed through the control plane in an earlier run comes back (one that
        // cannot start stays failed on its row, and the rest come back all the same)...
        foreach (var (script, error) in await controlPlane.Server!.Deployer.RestoreAllAsync(cancellationToken))
        {
            loggers.GetLogger(emulator).LogError("Script {Script} could not be restored: {Error}", script, error);
        }
        // ...and the AppHost's accounts are signed up through the platform, like any other: no back door.
        // Only the model's account rows: restored scripts of run-time signups have rows of their own by now.
        var modelAccounts = model.Resources.OfType<WorkerStackResource>().Where(s => s.Parent == emulator && s.Kind == StackKind.Account).ToList();
        await Parallel.ForEachAsync(modelAccounts,
            new ParallelOptions { MaxDegreeOfParallelism = ParallelStarts, CancellationToken = cancellationToken },
            async (stack, ct) => await ProvisionAsync(stack, ct));
        await ResumeSignedUpAccountsAsync(modelAccounts.Select(a => a.Name).ToHashSet(), cancellationToken);
        // (Not in the headless residency check, whose output is the report.)
        if (WriteEndpoints() is { } endpoints && options.ResidencyReportPath is null)
        {
            logger.LogInformation("Platform: {Platform} · Cloudflare API: {Api} · tenants at {TenantHost} · every endpoint in {File}",
                endpoints.Platform, endpoints.CloudflareApi, endpoints.TenantHost, HarnessEndpoints.PathUnder(options.StateRoot));
        }
    }

    /// <summary>Makes sure the row's account exists and is active (signup, or resuming an interrupted one).</summary>
    private async Task ProvisionAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        if (PlatformUrl() is not { } platform)
        {
            return;
        }
        var log = loggers.GetLogger(stack);
        var admin = new PlatformAdminClient(Http, _adminToken!);
        try
        {
            var account = await admin.GetAsync(platform, stack.Name, cancellationToken);
            if (account is null)
            {
                log.LogInformation("Signing up account {Slug} through the platform", stack.Name);
                await admin.SignupAsync(platform, stack.Name, $"Account {stack.Name}", cancellationToken);
            }
            else
            {
                // Active: the current release's pending migrations (if any); otherwise where it stopped.
                if (account.Value.GetProperty("status").GetString() != "active")
                {
                    log.LogInformation("Resuming the provisioning of {Slug}", stack.Name);
                }
                await admin.ResumeAsync(platform, stack.Name, cancellationToken);
            }
            await PublishBindingsAsync(stack);
            if (supervisor.Find(stack.StackName)?.Url is { } url)
            {
                var ownerId = await new AccountOwnerBootstrap(Http, tokens).EnsureOwnerAsync(new Uri(url), stack.Name, cancellationToken);
                await Publish(stack, s => s with { Properties = s.Properties.SetItem("account.ownerId", ownerId) });
                _provisioned[stack.Name] = true;
            }
        }
        catch (Exception ex) when (IsFailedCall(ex))
        {
            // One account failing must not stop the others; its row and log say why.
            log.LogError("Provisioning {Slug} failed: {Message}", stack.Name, ex.Message);
            await Publish(stack, s => s with { State = new("Failed", KnownResourceStateStyles.Error), Properties = s.Properties.SetItem("stack.lastError", ex.Message) });
        }
    }

    /// <summary>
    /// Accounts signed up in an earlier run (not the AppHost's): each gets the current release's
    /// pending migrations, or its provisioning resumed. One failing is logged; the others go on.
    /// </summary>
    private async Task ResumeSignedUpAccountsAsync(IReadOnlySet<string> modelAccounts, CancellationToken cancellationToken)
    {
        if (PlatformUrl() is not { } platform || _emulator is null)
        {
            return;
        }
        var admin = new PlatformAdminClient(Http, _adminToken!);
        try
        {
            foreach (var slug in (await admin.ListSlugsAsync(platform, cancellationToken)).Where(s => !modelAccounts.Contains(s)))
            {
                try
                {
                    await admin.ResumeAsync(platform, slug, cancellationToken);
                }
                catch (Exception ex) when (IsFailedCall(ex))
                {
                    loggers.GetLogger(_emulator).LogError("Account {Slug} could not be brought up to date: {Message}", slug, ex.Message);
                }
            }
        }
        catch (Exception ex) when (IsFailedCall(ex))
        {
            loggers.GetLogger(_emulator).LogError("Listing the platform's accounts failed: {Message}", ex.Message);
        }
    }

    /// <summary>
    /// Hot reload for provisioned accounts: a saved change to the account Worker is published as a new
    /// release and rolled out to every account's script, as a deploy would — data and URLs stay.
    /// </summary>
    private async Task RolloutAsync(string worker)
    {
        if (worker is not ("account" or "*") || controlPlane.Server is null || _stacks.Values.FirstOrDefault(s => s.Kind == StackKind.Platform) is not { } platform)
        {
            return;
        }
        try
        {
            await supervisor.PublishReleaseAsync(platform.StackName, "RELEASES", "account", CancellationToken.None);
            var code = await supervisor.BundleAsync("account", CancellationToken.None);
            var count = await controlPlane.Server.Deployer.RolloutAsync(WorkerStackResource.AccountScriptPrefix, code, CancellationToken.None);
            logger.LogInformation("Rolled the changed account Worker out to {Count} accounts", count);
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or IOException)
        {
            logger.LogError("Rolling out the account Worker failed: {Message}", ex.Message);
        }
    }

    /// <summary>Shows, on the account's child rows, the resources its script is bound to.</summary>
    private async Task PublishBindingsAsync(WorkerStackResource stack)
    {
        var script = controlPlane.Server!.Store.Snapshot.Scripts.FirstOrDefault(x => x.Name == stack.StackName);
        foreach (var child in stack.Bindings)
        {
            var binding = script?.Bindings.FirstOrDefault(b => b.Name == child.Binding);
            var id = binding?.Id ?? binding?.BucketName ?? binding?.NamespaceId ?? "";
            await Publish(child, s => s with { Properties = s.Properties.SetItem("resource.id", id).SetItem("jurisdiction", binding?.Jurisdiction ?? (child.ResourceType == StackBindingResource.Kv ? "none (KV has no jurisdiction)" : "eu")) });
        }
    }

    private async Task StartControlPlaneAsync(CloudflareEmulatorResource emulator, CancellationToken cancellationToken)
    {
        var api = model.Resources.OfType<CloudflareApiResource>().Single(r => r.Parent == emulator);
        await Publish(api, s => s with { State = KnownResourceStates.Starting });
        var server = await ControlPlaneServer.StartAsync(options.StateRoot, supervisor, port: 0, cancellationToken, options.Residency);
        controlPlane.Server = server;
        // The egress guard: Workers may reach each other, the Cloudflare API, and what the policy lists.
        await supervisor.SetEgressPolicyAsync(options.Residency.Egress, server.BaseUrl.Authority, cancellationToken);
        await Publish(api, s => s with
        {
            State = KnownResourceStates.Running,
            StartTimeStamp = DateTime.UtcNow,
            Urls = [new UrlSnapshot("v4", server.BaseUrl.ToString(), IsInternal: false)],
            Properties = s.Properties.SetItem("cloudflare.accountId", server.AccountId),
        });
        loggers.GetLogger(api).LogInformation("Cloudflare v4 API at {Url} for account {Account}", server.BaseUrl, server.AccountId);
    }

    public async Task<ExecuteCommandResult> RestartAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        try
        {
            await supervisor.RestartStackAsync(stack.StackName, cancellationToken);
            return CommandResults.Success();
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException || IsFailedCall(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Starts a stack the harness defines itself: the platform.</summary>
    private async Task StartStackAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        var definition = Define(stack);
        foreach (var binding in stack.Bindings)
        {
            await Publish(binding, s => s with { Properties = s.Properties.SetItem("resource.id", definition.D1[binding.Binding]).SetItem("jurisdiction", "eu") });
        }
        try
        {
            await supervisor.StartStackAsync(definition, cancellationToken);
            // What a deploy pipeline does: publish the account Worker release the platform provisions from.
            await supervisor.PublishReleaseAsync(stack.StackName, "RELEASES", "account", cancellationToken);
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException || IsFailedCall(ex))
        {
            loggers.GetLogger(stack).LogError("{Message}", ex.Message);
            logger.LogError("Stack {Stack} failed to start: {Message}", stack.Name, ex.Message);
        }
    }

    /// <summary>Signs up the next account-N through the platform, exactly as a real signup is provisioned.</summary>
    public async Task<ExecuteCommandResult> ProvisionAccountAsync(CancellationToken cancellationToken)
    {
        if (PlatformUrl() is not { } platform)
        {
            return CommandResults.Failure("The platform is not running.");
        }
        var admin = new PlatformAdminClient(Http, _adminToken!);
        try
        {
            var taken = (await admin.ListSlugsAsync(platform, cancellationToken)).ToHashSet();
            var slug = Enumerable.Range(1, 10_000).Select(i => $"account-{i}").First(s => !taken.Contains(s) && !_stacks.ContainsKey(s));
            await admin.SignupAsync(platform, slug, $"Account {slug}", cancellationToken);
            return CommandResults.Success($"Provisioned {slug} (stack acct-{slug}).");
        }
        catch (Exception ex) when (IsFailedCall(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    private async Task<ExecuteCommandResult> DeleteAccountAsync(string stackName, CancellationToken cancellationToken)
    {
        if (PlatformUrl() is not { } platform)
        {
            return CommandResults.Failure("The platform is not running.");
        }
        try
        {
            await new PlatformAdminClient(Http, _adminToken!).DeleteAsync(platform, stackName["acct-".Length..], cancellationToken);
            return CommandResults.Success($"Deleted {stackName}.");
        }
        catch (Exception ex) when (IsFailedCall(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Rewrites &lt;state root&gt;/endpoints.json from what runs now (null before the local API is up).</summary>
    private HarnessEndpoints? WriteEndpoints()
    {
        if (controlPlane.Server is not { } server)
        {
            return null;
        }
        // The snapshot is taken inside the lock too: two writers must not put an older one last.
        lock (_endpointsGate)
        {
            var platform = PlatformUrl();
            var endpoints = new HarnessEndpoints(
                Dashboard: configuration["ASPNETCORE_URLS"]?.Split(';')[0],
                Platform: platform?.ToString().TrimEnd('/'),
                CloudflareApi: server.BaseUrl.ToString(),
                CloudflareAccountId: server.AccountId,
                EmulatorApi: new Uri(server.BaseUrl, "/__emulator").ToString(),
                R2S3: server.S3Url.ToString(),
                TenantHost: platform is null ? null : $"http://<slug>.{server.ZoneName}:{platform.Port}",
                // A stopped stack (a deleted account) is gone; a failed one keeps its URL for its restart.
                Stacks: supervisor.Stacks.Where(s => s.Url is not null && s.State != StackState.Stopped)
                    .OrderBy(s => s.Name, StringComparer.Ordinal).ToDictionary(s => s.Name, s => s.Url!));
            try
            {
                endpoints.Write(options.StateRoot);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("Could not write {File}: {Message}", HarnessEndpoints.PathUnder(options.StateRoot), ex.Message);
            }
            return endpoints;
        }
    }

    private readonly Lock _endpointsGate = new();

    private Uri? PlatformUrl() =>
        _stacks.Values.Select(s => supervisor.Find(s.Name)).FirstOrDefault(s => s is { Worker: "platform", Url: not null }) is { } p ? new Uri(p.Url!) : null;

    /// <summary>Loads the demo data set (deterministic per account) into a running account stack.</summary>
    public async Task<ExecuteCommandResult> SeedDemoDataAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        var status = supervisor.Find(stack.StackName);
        if (status?.Url is null)
        {
            return CommandResults.Failure($"{stack.Name} is not running.");
        }
        var log = loggers.GetLogger(stack);
        try
        {
            var ownerId = await new AccountOwnerBootstrap(Http, tokens).EnsureOwnerAsync(new Uri(status.Url), stack.AccountSlug, cancellationToken);
            var token = tokens.Issue(stack.AccountSlug, ownerId, TimeSpan.FromMinutes(30));
            var data = SeedDataGenerator.ForAccount(stack.AccountSlug).Generate(SeedSize.Demo);
            var progress = new Progress<string>(line => log.LogInformation("seeded {Line}", line));
            await new SeedLoader(Http, new Uri(status.Url + "/"), token).LoadAsync(data, progress, cancellationToken);
            return CommandResults.Success($"Seeded {data.Count("clients")} clients with their cases, tasks, documents and contacts.");
        }
        catch (Exception ex) when (IsFailedCall(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Runs the residency audit: the table goes to the emulator's log, the JSON beside the state.</summary>
    public async Task<ExecuteCommandResult> ResidencyReportAsync(CancellationToken cancellationToken)
    {
        if (controlPlane.Server is not { } server || _emulator is null)
        {
            return CommandResults.Failure("The emulator is not running yet.");
        }
        try
        {
            var report = await server.Residency.AuditAsync(cancellationToken);
            var path = Residency.ResidencyReport.PathUnder(options.StateRoot);
            report.WriteJson(path);
            var log = loggers.GetLogger(_emulator);
            log.LogInformation("{Table}JSON: {Path}", report.ToTable(), path);
            return report.Compliant
                ? CommandResults.Success($"Compliant: {report.Stacks.Count} stacks audited, no violations (table in the log, JSON in {path}).")
                : CommandResults.Failure($"{report.Violations.Count} violation(s): {string.Join("; ", report.Violations.Take(3))}{(report.Violations.Count > 3 ? " …" : "")}");
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException or IOException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    /// <summary>Asks for replica count, lag and frozen replicas (the dashboard's dialog), then applies them.</summary>
    public async Task<ExecuteCommandResult> ConfigureReplicationAsync(StackBindingResource d1, CancellationToken cancellationToken)
    {
        if (!interactions.IsAvailable)
        {
            return CommandResults.Failure("No dashboard to ask in: use PUT /__emulator/stacks/{stack}/d1/{binding}/replication.");
        }
        JsonElement current;
        try
        {
            current = await supervisor.D1ReplicationAsync(d1.Parent.StackName, d1.Binding, null, cancellationToken);
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException)
        {
            return CommandResults.Failure(ex.Message);
        }
        var answer = await interactions.PromptInputsAsync(
            $"Read replicas of {d1.Name}",
            "Reads in a D1 session (withSession) may be served by a replica that applies the primary's writes after the lag. 0 replicas turns replication off.",
            [
                new InteractionInput { Name = "replicas", Label = "Replicas", InputType = InputType.Number, Required = true, Value = current.GetProperty("replicas").ToString() },
                new InteractionInput { Name = "lagMs", Label = "Lag (ms)", InputType = InputType.Number, Required = true, Value = current.GetProperty("lagMs").ToString() },
                new InteractionInput { Name = "frozen", Label = "Frozen replicas (e.g. 0,1)", InputType = InputType.Text, Value = string.Join(',', current.GetProperty("frozen").EnumerateArray()) },
            ],
            cancellationToken: cancellationToken);
        if (answer.Canceled)
        {
            return CommandResults.Canceled();
        }
        if (!int.TryParse(answer.Data["replicas"].Value, out var replicas) || !int.TryParse(answer.Data["lagMs"].Value, out var lag))
        {
            return CommandResults.Failure("replicas and lag must be whole numbers");
        }
        var frozenText = answer.Data["frozen"].Value ?? "";
        var frozen = new List<int>();
        foreach (var part in frozenText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, out var index))
            {
                return CommandResults.Failure($"frozen: '{part}' is not a replica index");
            }
            frozen.Add(index);
        }
        return await ChangeReplicationAsync(d1, new { replicas, lagMs = lag, frozen }, cancellationToken);
    }

    /// <summary>Applies replication settings (none: only reads them) to a D1 row's database and shows the result on the row.</summary>
    public async Task<ExecuteCommandResult> ChangeReplicationAsync(StackBindingResource d1, object? settings, CancellationToken cancellationToken)
    {
        try
        {
            var status = await supervisor.D1ReplicationAsync(d1.Parent.StackName, d1.Binding, settings, cancellationToken);
            var summary = ReplicationSummary(status);
            await Publish(d1, s => s with { Properties = s.Properties.SetItem("d1.replication", summary).SetItem("d1.bookmark", status.GetProperty("bookmark").GetString() ?? "") });
            if (settings is not null)
            {
                loggers.GetLogger(d1.Parent).LogInformation("{Binding} read replication: {Summary}", d1.Binding, summary);
            }
            return CommandResults.Success($"{d1.Name}: {summary}");
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    private static string ReplicationSummary(JsonElement status)
    {
        var replicas = status.GetProperty("replicas").GetInt32();
        if (replicas == 0)
        {
            return "off (primary only)";
        }
        var states = status.GetProperty("replicaState").EnumerateArray().Select(r =>
            $"{r.GetProperty("index").GetInt32()}:{r.GetProperty("region").GetString()}{(r.GetProperty("frozen").GetBoolean() ? " frozen" : "")}");
        return $"{replicas} replica(s), lag {status.GetProperty("lagMs").GetInt32()} ms [{string.Join(", ", states)}]";
    }

    /// <summary>A 12-hour token for the account's owner, for trying the API with curl.</summary>
    public async Task<ExecuteCommandResult> IssueOwnerTokenAsync(WorkerStackResource stack, CancellationToken cancellationToken)
    {
        var status = supervisor.Find(stack.StackName);
        if (status?.Url is null)
        {
            return CommandResults.Failure($"{stack.Name} is not running.");
        }
        try
        {
            var ownerId = await new AccountOwnerBootstrap(Http, tokens).EnsureOwnerAsync(new Uri(status.Url), stack.AccountSlug, cancellationToken);
            // The platform issues tokens (it checks the user with the account's own Worker first).
            var token = await new PlatformAdminClient(Http, _adminToken!).IssueTokenAsync(PlatformUrl()!, stack.AccountSlug, ownerId, TimeSpan.FromHours(12), cancellationToken);
            loggers.GetLogger(stack).LogInformation("Owner token (12 h): {Token}", token);
            return CommandResults.Success($"Owner token for {stack.Name} (also in its log): {token}");
        }
        catch (Exception ex) when (IsFailedCall(ex))
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    private StackDefinition Define(WorkerStackResource stack)
    {
        var identity = StackIdentity.LoadOrCreate(supervisor.StackDirectory(stack.StackName), stack.StackName);
        return new StackDefinition(stack.StackName, stack.Worker,
            D1: new Dictionary<string, string> { ["DB"] = identity.DatabaseId },
            R2: new Dictionary<string, string> { ["RELEASES"] = identity.BucketName },
            Kv: new Dictionary<string, string>(),
            Vars: new Dictionary<string, string>
            {
                ["ADMIN_TOKEN"] = _adminToken!,
                // Provisioning talks to Cloudflare's API; locally, to the emulator's.
                ["CLOUDFLARE_API_BASE"] = controlPlane.Server!.BaseUrl.ToString(),
                ["CLOUDFLARE_ACCOUNT_ID"] = controlPlane.Server.AccountId,
                ["CLOUDFLARE_API_TOKEN"] = controlPlane.Server.ApiToken,
                ["AUTH_PUBLIC_KEY"] = tokens.PublicJwk(),
                ["AUTH_PRIVATE_KEY"] = tokens.PrivateJwk(),
                // acme.localhost reaches account acme (browsers resolve *.localhost to loopback).
                ["TENANT_DOMAIN"] = controlPlane.Server.ZoneName,
                // Its loopback address and its workers.dev name reach the platform itself too (every
                // other host is a tenant's, or refused).
                ["PLATFORM_HOSTS"] = $"127.0.0.1,[::1],{stack.StackName}.{StackSupervisor.WorkersSubdomain}.workers.dev",
                // The tenants' zone, whose host names provisioning pins to the policy's region (UK).
                ["CLOUDFLARE_ZONE_ID"] = controlPlane.Server.ZoneId,
                ["TENANT_REGION"] = options.Residency.HostnameRegion,
                // UK-only users (request.cf.country), from the residency policy.
                ["ALLOWED_COUNTRIES"] = string.Join(",", options.Residency.UserCountries),
                // Each account's R2 S3 credentials are stored sealed with this key; R2's S3 endpoint.
                ["CREDENTIALS_KEY"] = PlatformSecrets.LoadOrCreateCredentialsKey(options.StateRoot),
                ["R2_S3_ENDPOINT"] = controlPlane.Server.S3Url.ToString(),
            },
            Port: options.PlatformPort);
    }

    private async Task PublishStackAsync(StackStatus status)
    {
        if (!_stacks.TryGetValue(status.Name, out var stack))
        {
            if (status.Worker != "upload" || _emulator is null)
            {
                return;
            }
            stack = _stacks.GetOrAdd(status.Name, name =>
            {
                // The commands of the AppHost's account rows, and deletion.
                var resource = new WorkerStackResource(name, StackKind.Account, _emulator);
                void Command(StackCommand command, Func<CancellationToken, Task<ExecuteCommandResult>> run, string? confirmation = null) =>
                    resource.Annotations.Add(new ResourceCommandAnnotation(command.Id, command.Label, _ => ResourceCommandState.Enabled, ctx => run(ctx.CancellationToken),
                        command.Description, parameter: null, confirmationMessage: confirmation ?? command.Confirmation, iconName: command.Icon, iconVariant: null,
                        isHighlighted: command.Highlighted));
                Command(StackCommands.Restart, ct => RestartAsync(resource, ct));
                Command(StackCommands.IssueOwnerToken, ct => IssueOwnerTokenAsync(resource, ct));
                Command(StackCommands.SeedDemoData, ct => SeedDemoDataAsync(resource, ct));
                Command(StackCommands.DeleteAccount, ct => DeleteAccountAsync(name, ct), confirmation: $"Delete {name} and all its data?");
                return resource;
            });
            var script = controlPlane.Server?.Store.Snapshot.Scripts.FirstOrDefault(x => x.Name == status.Name);
            var bound = script?.Bindings.Where(b => b.Type is "d1" or "r2_bucket" or "kv_namespace")
                .Select(b => $"{b.Name}={b.Type}:{b.Id ?? b.BucketName ?? b.NamespaceId}") ?? [];
            await Publish(stack, s => s with
            {
                ResourceType = WorkerStackResource.ResourceType,
                // Shown under the emulator, like the rows that are in the model.
                Relationships = [new RelationshipSnapshot(_emulator.Name, "Parent")],
                // The dashboard nests a row under the one its resource.parentName names (Aspire sets it
                // only for resources in the model).
                Properties = s.Properties.SetItem("resource.parentName", _emulator.Name)
                    .SetItem("stack.kind", "Account (provisioned)").SetItem("stack.worker", "uploaded script")
                    .SetItem("stack.bindings", string.Join(", ", bound)),
            });
        }
        var state = ToSnapshotState(status.State);
        try
        {
            await Publish(stack, s => s with
            {
                State = state,
                Urls = status.Url is null ? [] : [new UrlSnapshot("http", status.Url, IsInternal: false)],
                StartTimeStamp = status.State == StackState.Running ? s.StartTimeStamp ?? DateTime.UtcNow : s.StartTimeStamp,
                StopTimeStamp = status.State is StackState.Failed or StackState.Stopped ? DateTime.UtcNow : null,
                Properties = s.Properties
                    .SetItem("stack.url", status.Url ?? "")
                    .SetItem("stack.workerdPid", status.ProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "")
                    .SetItem("stack.stateDirectory", status.StateDirectory)
                    .SetItem("stack.lastError", status.LastError ?? ""),
            });
            foreach (var binding in stack.Bindings)
            {
                await Publish(binding, s => s with { State = state });
                if (binding.ResourceType == StackBindingResource.D1 && status.State == StackState.Running)
                {
                    // Replication settings live in the database: show what this run inherited.
                    _ = ChangeReplicationAsync(binding, null, CancellationToken.None);
                }
            }
            if (status.State == StackState.Failed && status.RecentLog is { Count: > 0 } recent)
            {
                var log = loggers.GetLogger(stack);
                log.LogError("{Stack} failed: {Error}. Last log lines:\n{Lines}", status.Name, status.LastError, string.Join('\n', recent));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogDebug(ex, "Publishing state of {Stack} failed", status.Name);
        }
    }

    private void Log(StackLogLine line)
    {
        if (!_stacks.TryGetValue(line.Stack, out var stack))
        {
            return;
        }
        var log = loggers.GetLogger(stack);
        if (line.Level == "error")
        {
            log.LogError("{Line}", line.Line);
        }
        else
        {
            log.LogInformation("{Line}", line.Line);
        }
    }

    private static ResourceStateSnapshot ToSnapshotState(StackState state) => state switch
    {
        StackState.Starting => new(KnownResourceStates.Starting, KnownResourceStateStyles.Info),
        StackState.Running => new(KnownResourceStates.Running, KnownResourceStateStyles.Success),
        StackState.Reloading => new("Reloading", KnownResourceStateStyles.Info),
        StackState.Stopped => new(KnownResourceStates.Exited, KnownResourceStateStyles.Warn),
        _ => new("Failed", KnownResourceStateStyles.Error),
    };

    private Task Publish(IResource resource, Func<CustomResourceSnapshot, CustomResourceSnapshot> change) =>
        notifications.PublishUpdateAsync(resource, change);
}

internal static class PropertyExtensions
{
    /// <summary>Adds or replaces one property of a snapshot.</summary>
    public static ImmutableArray<ResourcePropertySnapshot> SetItem(this ImmutableArray<ResourcePropertySnapshot> properties, string name, object value)
    {
        var index = properties.IndexOf(properties.FirstOrDefault(p => p.Name == name)!);
        var property = new ResourcePropertySnapshot(name, value);
        return index >= 0 && properties[index].Name == name ? properties.SetItem(index, property) : properties.Add(property);
    }
}
