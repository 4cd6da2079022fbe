using System.Collections.Concurrent;
using System.Text.Json;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Telemetry;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Supervision;

/// <summary>
/// Starts, stops and restarts stacks and knows each one's URL, workerd process and state. It owns
/// the runtime host process; when the supervisor is disposed nothing it started is left running.
/// </summary>
public sealed class StackSupervisor : IAsyncDisposable
{
    private const int RecentLines = 40;

    private readonly HarnessOptions _options;
    private readonly ILogger<StackSupervisor> _logger;
    private readonly ConcurrentDictionary<string, Entry> _stacks = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _hostGate = new(1, 1);
    private readonly ConcurrentDictionary<string, StackControl> _controls = new(StringComparer.Ordinal);
    private readonly ControlEntrypointClient _control = new(new HttpClient { Timeout = TimeSpan.FromMinutes(2) });
    private RuntimeHostProcess? _host;
    private EgressPolicy? _egressPolicy;
    private IReadOnlyList<HopFaultRule> _hopFaults = [];
    private string _node = "node";
    private StateRootLock? _lock;
    private bool _disposed;

    public StackSupervisor(HarnessOptions options, ILogger<StackSupervisor> logger)
    {
        _options = options;
        _logger = logger;
    }

    /// <summary>Raised whenever a stack's state, URL or process changes.</summary>
    public event Action<StackStatus>? StackChanged;

    /// <summary>Raised for every log line of every stack.</summary>
    public event Action<StackLogLine>? LogReceived;

    /// <summary>Raised when a repository Worker's source changed (hot reload); "*" for shared code.</summary>
    public event Action<string>? SourceChanged;

    /// <summary>Scripts are reachable from Workers as https://&lt;script&gt;.&lt;this&gt;.workers.dev, as on Cloudflare.</summary>
    public const string WorkersSubdomain = "emulator";

    public Version? NodeVersion { get; private set; }

    public int? HostProcessId => _host?.ProcessId;

    public IReadOnlyList<StackStatus> Stacks => [.. _stacks.Values.Select(e => e.Status)];

    public StackStatus? Find(string name) => _stacks.TryGetValue(name, out var entry) ? entry.Status : null;

    /// <summary>
    /// A stack's status once it is no longer reloading (new code, or its replica databases added: well
    /// under a second), or as it is when <paramref name="timeout"/> has passed; null for an unknown stack.
    /// Callers that would otherwise refuse a request to a reloading stack wait for it instead.
    /// </summary>
    public Task<StackStatus?> SettledAsync(string name, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitWhileAsync(name, state => state is StackState.Reloading, timeout, cancellationToken);

    /// <summary>A stack's status once it is neither starting nor reloading (or after <paramref name="timeout"/>).</summary>
    public Task<StackStatus?> StillAsync(string name, TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitWhileAsync(name, state => state is StackState.Starting or StackState.Reloading, timeout, cancellationToken);

    /// <summary>A stack's status once <paramref name="waitOut"/> no longer holds for its state, or after <paramref name="timeout"/>.</summary>
    private async Task<StackStatus?> WaitWhileAsync(string name, Func<StackState, bool> waitOut, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Find(name) is { } status && waitOut(status.State) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25, cancellationToken);
        }
        return Find(name);
    }

    /// <summary>What a stack was started with: its Worker and exactly which resources it is bound to.</summary>
    public StackDefinition? DefinitionOf(string name) => _stacks.TryGetValue(name, out var entry) ? entry.Definition : null;

    /// <summary>Keys and (the start of) values in a stack's KV binding: what a read cache really holds.</summary>
    public Task<JsonElement> KvEntriesAsync(string name, string binding, CancellationToken cancellationToken) =>
        OnControlAsync(name, control => _control.KvEntriesAsync(control, binding, cancellationToken), cancellationToken);

    /// <summary>The repository's Workers folder (each Worker's code and migrations).</summary>
    public string WorkersDirectory => _options.WorkersDirectory;

    public string StackDirectory(string name) => Path.Combine(_options.StateRoot, "stacks", name);

    /// <summary>Where the runtime host exports every Worker's telemetry (null: off); read when the host starts.</summary>
    public TelemetryExport? Telemetry { get; set; }

    /// <summary>Locks the state root, removes leftovers of a killed harness, and starts the runtime host.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock ??= StateRootLock.Acquire(_options.StateRoot);
        var orphans = ProcessTable.KillOrphans(_options.StateRoot);
        if (orphans > 0)
        {
            _logger.LogWarning("Stopped {Count} processes left behind by an earlier harness on {StateRoot}", orphans, _options.StateRoot);
        }
        (_node, var version) = await NodeToolchain.ResolveAsync(_options.Node, _options.WorkersDirectory, cancellationToken);
        NodeVersion = version;
        await EnsureHostAsync(cancellationToken);
    }

    public async Task<StackStatus> StartStackAsync(StackDefinition definition, CancellationToken cancellationToken)
    {
        var entry = Register(definition, busy: state => state is StackState.Running or StackState.Starting or StackState.Reloading);
        return await RunAsync(entry, redeploy: false, cancellationToken);
    }

    /// <summary>
    /// Deploys a new definition (code, bindings) to a stack. A running stack is reconfigured in place on
    /// its port, and requests from other Workers wait for it rather than fail, as a deploy at the edge
    /// loses none; any other stack is started.
    /// </summary>
    public async Task<StackStatus> RedeployStackAsync(StackDefinition definition, CancellationToken cancellationToken)
    {
        var entry = Register(definition, busy: state => state is StackState.Starting or StackState.Reloading);
        return await RunAsync(entry, redeploy: true, cancellationToken,
            entry.Status.State == StackState.Running ? StackState.Reloading : StackState.Starting);
    }

    public async Task<StackStatus> RestartStackAsync(string name, CancellationToken cancellationToken)
    {
        var entry = Get(name);
        await StopQuietlyAsync(name, cancellationToken);
        return await RunAsync(entry, redeploy: false, cancellationToken);
    }

    /// <summary>Kills the stack's workerd (SIGKILL), as a machine failure would; the stack is left crashed until restarted.</summary>
    public async Task<StackStatus> KillStackAsync(string name, CancellationToken cancellationToken)
    {
        var status = Get(name).Status;
        // Not while reloading: the pid would be the outgoing workerd's.
        if (status is not { State: StackState.Running, ProcessId: { } pid })
        {
            throw new InvalidOperationException($"stack '{name}' is {status.State.ToString().ToLowerInvariant()}: only a running stack can be killed");
        }
        ProcessSignals.Kill(pid);
        // The runtime host sees its workerd exit and says so; the stack is then crashed.
        return await WaitWhileAsync(name, state => state is StackState.Running, TimeSpan.FromSeconds(10), cancellationToken)
            ?? Get(name).Status;
    }

    /// <summary>Pauses (SIGSTOP) or resumes (SIGCONT) the stack's workerd: while paused, requests to it hang.</summary>
    public StackStatus PauseStack(string name, bool paused)
    {
        var status = Get(name).Status;
        if (status is not { State: StackState.Running, ProcessId: { } pid })
        {
            throw new InvalidOperationException($"stack '{name}' is {status.State.ToString().ToLowerInvariant()}: only a running stack can be {(paused ? "paused" : "resumed")}");
        }
        if (paused)
        {
            ProcessSignals.Stop(pid);
        }
        else
        {
            ProcessSignals.Continue(pid);
        }
        return Update(name, s => s with { Paused = paused });
    }

    /// <summary>Cuts (or heals) the route from every other stack to this one — the platform's calls to it fail as a lost connection.</summary>
    public async Task<StackStatus> PartitionStackAsync(string name, bool partitioned, CancellationToken cancellationToken)
    {
        Get(name);
        await Host.SendAsync(new SetPartition(name, partitioned), cancellationToken);
        return Update(name, s => s with { Partitioned = partitioned });
    }

    /// <summary>
    /// Stops (or starts again) recording a stack's invocations — no spans, logs or metrics from it —
    /// until told otherwise; a restart of the stack keeps it. Throws <see cref="InvalidOperationException"/>
    /// when the harness runs with telemetry off, or the stack is paused.
    /// </summary>
    public async Task<StackStatus> SetTelemetryRecordingAsync(string name, bool recording, CancellationToken cancellationToken)
    {
        var entry = Get(name);
        if (Telemetry is null)
        {
            throw new InvalidOperationException("telemetry is off in this harness (--telemetry false, or no dashboard and no --Harness:TelemetryEndpoint): nothing is recorded");
        }
        // A stopped process cannot take it, and would run on with the old setting once resumed.
        if (entry.Status.Paused)
        {
            throw new InvalidOperationException($"stack '{name}' is paused: resume it first");
        }
        var state = await Host.SendAsync(new SetTelemetryRecording(name, recording), cancellationToken);
        return Update(name, s => s with { TelemetryStopped = !state.Recording });
    }

    /// <summary>Whether the stack's running isolate records its invocations now, as it says itself.</summary>
    public async Task<bool> IsolateRecordingAsync(string name, CancellationToken cancellationToken) =>
        (await OnControlAsync(name, control => _control.TelemetryAsync(control, cancellationToken), cancellationToken)).GetProperty("recording").GetBoolean();

    public async Task<StackStatus> StopStackAsync(string name, CancellationToken cancellationToken)
    {
        Get(name);
        await StopQuietlyAsync(name, cancellationToken);
        _controls.TryRemove(name, out _);
        return Update(name, s => s with { State = StackState.Stopped, ProcessId = null });
    }

    /// <summary>Runs one SQL statement against a stack's D1 binding (the operator's view of its data).</summary>
    public Task<JsonElement> QueryD1Async(string name, string binding, string sql, IReadOnlyList<object?> parameters,
        CancellationToken cancellationToken) =>
        OnControlAsync(name, control => _control.QueryAsync(control, binding, sql, parameters, cancellationToken), cancellationToken);

    /// <summary>
    /// Runs SQL as D1's HTTP query API takes it: one statement with its parameters, or several (no
    /// parameters) as one batch; an array of results.
    /// </summary>
    public Task<JsonElement> RunD1SqlAsync(string name, string binding, string sql, IReadOnlyList<object?> parameters, CancellationToken cancellationToken,
        bool raw = false) =>
        OnControlAsync(name, control => _control.RunSqlAsync(control, binding, sql, parameters, raw, cancellationToken), cancellationToken);

    /// <summary>A stack's D1 database as SQL (schema and rows), as <c>wrangler d1 export</c> writes it.</summary>
    public async Task<string> ExportD1Async(string name, string binding, bool noSchema, bool noData, IReadOnlyList<string> tables, CancellationToken cancellationToken) =>
        (await OnControlAsync(name, control => _control.ExportSqlAsync(control, binding, noSchema, noData, tables, cancellationToken), cancellationToken))
            .GetProperty("sql").GetString() ?? "";

    /// <summary>Runs statements against a stack's D1 binding as one batch (one transaction).</summary>
    public Task<JsonElement> BatchD1Async(string name, string binding, IReadOnlyList<(string Sql, IReadOnlyList<object?> Params)> statements,
        CancellationToken cancellationToken) =>
        OnControlAsync(name, control => _control.BatchAsync(control, binding, statements, cancellationToken), cancellationToken);

    /// <summary>
    /// The emulated read replication of a stack's D1 binding; with <paramref name="settings"/>
    /// (replicas, lagMs, frozen), changes it first. Returns replica positions, lag and head bookmark.
    /// </summary>
    public async Task<JsonElement> D1ReplicationAsync(string name, string binding, object? settings, CancellationToken cancellationToken)
    {
        Get(name);
        // Replicas need their databases bound first (a restart of this stack's workerd, once): only
        // for a binding that exists and a count it allows (the status says both), so a request the
        // database will refuse restarts nothing.
        if (settings is not null && JsonSerializer.SerializeToElement(settings, HostJson.Options) is { ValueKind: JsonValueKind.Object } json
            && json.TryGetProperty("replicas", out var replicas) && replicas.TryGetInt32(out var count) && count > 0)
        {
            var status = await OnControlAsync(name, control => _control.ReplicationAsync(control, binding, null, cancellationToken), cancellationToken);
            if (count <= status.GetProperty("maxReplicas").GetInt32())
            {
                await Host.SendAsync(new AddReplicaDatabases(name), cancellationToken);
            }
        }
        return await OnControlAsync(name, control => _control.ReplicationAsync(control, binding, settings, cancellationToken), cancellationToken);
    }

    /// <summary>Replaces what a stack's bindings and fetch handler hold of the chaos API's settings (its Worker sees each error as the real one).</summary>
    public Task<JsonElement> SetFaultsAsync(string name, StackFaults faults, CancellationToken cancellationToken) =>
        OnControlAsync(name, control => _control.SetFaultsAsync(control, faults, cancellationToken), cancellationToken);

    /// <summary>What the stack's bindings and fetch handler hold of the chaos API's settings, read from the running Worker.</summary>
    public Task<JsonElement> FaultsAsync(string name, CancellationToken cancellationToken) =>
        OnControlAsync(name, control => _control.FaultsAsync(control, cancellationToken), cancellationToken);

    /// <summary>
    /// What a stack's Worker has used since its workerd started, read from the running Worker; with
    /// <paramref name="resetPeaks"/>, its per-invocation peaks start again after this reading.
    /// </summary>
    public Task<StackUsage> UsageAsync(string name, CancellationToken cancellationToken, bool resetPeaks = false) =>
        OnControlAsync(name, control => _control.UsageAsync(control, resetPeaks, cancellationToken), cancellationToken);

    /// <summary>Runs statements in one D1 session (Sessions API) that starts from a bookmark or constraint.</summary>
    public Task<JsonElement> D1SessionAsync(string name, string binding, string? bookmark,
        IReadOnlyList<(string Sql, IReadOnlyList<object?> Params)> statements, CancellationToken cancellationToken) =>
        OnControlAsync(name, control => _control.SessionAsync(control, binding, bookmark, statements, cancellationToken), cancellationToken);

    /// <summary>
    /// Sets the egress guard: the hosts (exact or *.suffix) Workers may fetch, and the local Cloudflare
    /// API's host:port (standing for api.cloudflare.com). Other stacks' workers.dev hosts are always reachable.
    /// </summary>
    public async Task SetEgressPolicyAsync(IReadOnlyList<string> allow, string? cloudflareApi, CancellationToken cancellationToken)
    {
        // Remembered, so a runtime host started again later gets the same policy.
        _egressPolicy = new EgressPolicy(allow, cloudflareApi);
        await Host.SendAsync(new SetEgressPolicy(_egressPolicy), cancellationToken);
    }

    /// <summary>Replaces the route and egress fault rules the runtime host's hops apply (remembered for a host started again).</summary>
    public async Task SetHopFaultsAsync(IReadOnlyList<HopFaultRule> rules, CancellationToken cancellationToken)
    {
        _hopFaults = rules;
        await Host.SendAsync(new SetHopFaults(rules), cancellationToken);
    }

    /// <summary>Every outbound fetch the stacks' Workers made (or one stack's): destination, allowed or not, why.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<EgressRecord>>> EgressAsync(string? name, CancellationToken cancellationToken)
    {
        return (await Host.SendAsync(new ReadEgressLog(name), cancellationToken)).Stacks;
    }

    /// <summary>Bundles a repository Worker and publishes it (code and migrations) into a stack's R2 binding.</summary>
    public async Task<PublishedRelease> PublishReleaseAsync(string name, string binding, string worker, CancellationToken cancellationToken)
    {
        Get(name);
        return await Host.SendAsync(new PublishRelease(name, binding, worker), cancellationToken);
    }

    /// <summary>The binding names a stack's Worker has in the running runtime.</summary>
    public async Task<IReadOnlyList<string>> LiveBindingsAsync(string name, CancellationToken cancellationToken)
    {
        Get(name);
        return (await Host.SendAsync(new ReadLiveBindings(name), cancellationToken)).Bindings;
    }

    /// <summary>The current bundle of a repository Worker.</summary>
    public async Task<string> BundleAsync(string worker, CancellationToken cancellationToken)
    {
        return (await Host.SendAsync(new BundleWorker(worker), cancellationToken)).Script;
    }

    /// <summary>Every object key (and size) in a stack's R2 binding.</summary>
    public Task<JsonElement> ListR2Async(string name, string binding, CancellationToken cancellationToken, string? prefix = null) =>
        OnControlAsync(name, control => _control.ListR2Async(control, binding, prefix, cancellationToken), cancellationToken);

    /// <summary>
    /// Sends a request to a stack's control entrypoint and hands back its answer unread, for bodies
    /// that are bytes rather than JSON (KV values, R2 objects). The caller disposes the answer.
    /// </summary>
    public Task<HttpResponseMessage> SendToControlAsync(string name, HttpMethod method, string pathAndQuery, HttpContent? content,
        CancellationToken cancellationToken) =>
        // A body is sent once: a retry would send a request whose content the first attempt disposed.
        OnControlAsync(name, control => _control.SendAsync(control, method, pathAndQuery, content, cancellationToken), cancellationToken,
            retryWhenNothingRan: content is null);

    /// <summary>How long a data call waits out a stack's start or reload (well under a second, usually).</summary>
    private static readonly TimeSpan ReloadWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs a call on a stack's control entrypoint once the stack is serving. A call that reached no
    /// entrypoint (the stack restarted under it, and its entrypoint moved) is sent once more, to
    /// where the stack announced it since; one that may have run is not.
    /// </summary>
    private async Task<T> OnControlAsync<T>(string name, Func<StackControl, Task<T>> call, CancellationToken cancellationToken,
        bool retryWhenNothingRan = true)
    {
        Get(name);
        for (var attempt = 1; ; attempt++)
        {
            // A data call waits out a start too (a restart under it), not only a reload.
            var status = await WaitWhileAsync(name, state => state is StackState.Reloading or StackState.Starting, ReloadWait, cancellationToken);
            if (status is not { State: StackState.Running })
            {
                throw new RuntimeHostException($"stack '{name}' is {status?.State.ToString().ToLowerInvariant() ?? "unknown"}");
            }
            if (status.Paused)
            {
                throw new RuntimeHostException($"stack '{name}' is paused (resume it first)");
            }
            if (!_controls.TryGetValue(name, out var control))
            {
                throw new RuntimeHostException($"stack '{name}' runs, but the runtime host announced no control entrypoint for it");
            }
            try
            {
                return await call(control);
            }
            catch (ControlEntrypointUnreachableException ex) when (ex.NothingRan && attempt == 1 && retryWhenNothingRan)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        // Belt and braces: anything still carrying this state root's marker goes too.
        ProcessTable.KillOrphans(_options.StateRoot);
        _lock?.Dispose();
        _hostGate.Dispose();
    }

    /// <summary>Adds a stack, or gives a known one its new definition unless it is <paramref name="busy"/>.</summary>
    private Entry Register(StackDefinition definition, Func<StackState, bool> busy) =>
        !StackName.IsValid(definition.Name)
            ? throw new ArgumentException($"Stack name '{definition.Name}': {StackName.Rule}.", nameof(definition))
            : _stacks.AddOrUpdate(definition.Name,
            _ => new Entry(definition, new StackStatus(definition.Name, definition.Worker, StackState.Starting, StackDirectory(definition.Name))),
            (_, existing) => busy(existing.Status.State)
                ? throw new InvalidOperationException($"Stack '{definition.Name}' is already {existing.Status.State}.")
                : existing with { Definition = definition });

    /// <summary>The runtime host (tests speak to it directly, with malformed commands too).</summary>
    internal RuntimeHostProcess Host => _host ?? throw new InvalidOperationException("The supervisor has not been started.");

    private async Task<StackStatus> RunAsync(Entry entry, bool redeploy, CancellationToken cancellationToken, StackState meanwhile = StackState.Starting)
    {
        var definition = entry.Definition;
        var directory = StackDirectory(definition.Name);
        Directory.CreateDirectory(directory);
        Update(definition.Name, s => s with { State = meanwhile, LastError = null, Crashed = false });
        // A span of its own, in the trace of whatever asked for it (a deploy through the API, a signup).
        using var activity = HarnessTracing.Source.StartActivity(redeploy ? "stack redeploy" : "stack start");
        activity?.SetTag("cloudflare.script_name", definition.Name);
        activity?.SetTag("cloudflare.worker", definition.Worker);
        try
        {
            await EnsureHostAsync(cancellationToken);
            // A restarted stack keeps its port, so its URL (and the routing metadata naming it) stays valid.
            var port = definition.Port != 0 ? definition.Port : entry.Status.Url is { } url ? new Uri(url).Port : 0;
            var spec = new HostStackSpec(definition.Name, definition.Worker, directory, port,
                definition.D1, definition.R2, definition.Kv, definition.Vars,
                definition.Script?.MainModule, definition.Script?.CompatibilityDate, definition.Script?.CompatibilityFlags, definition.Persist,
                definition.R2Credentials, StackName.RowNameOf(definition.Name));
            var started = redeploy
                ? await Host.SendAsync(new RedeployStack(spec), cancellationToken)
                : await Host.SendAsync(new StartStack(spec), cancellationToken);
            activity?.SetTag("emulator.start_ms", started.StartMs);
            return Update(definition.Name, s => s with
            {
                State = StackState.Running,
                Url = started.Url,
                ProcessId = started.Pid,
                // A new workerd is not the paused one.
                Paused = false,
                StartDuration = TimeSpan.FromMilliseconds(started.StartMs),
            });
        }
        catch (RuntimeHostException ex)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            Update(definition.Name, s => s with { State = StackState.Failed, LastError = ex.Message, ProcessId = null });
            throw;
        }
    }

    private async Task StopQuietlyAsync(string name, CancellationToken cancellationToken)
    {
        // A paused workerd would not act on its stop until continued.
        if (_stacks.TryGetValue(name, out var paused) && paused.Status is { Paused: true, ProcessId: { } pid })
        {
            ProcessSignals.Continue(pid);
            Update(name, s => s with { Paused = false });
        }
        if (_host is { IsRunning: true })
        {
            try
            {
                await _host.SendAsync(new StopStack(name), cancellationToken);
            }
            catch (RuntimeHostException ex)
            {
                // The host never knew it (e.g. it failed to start) — nothing to stop.
                _logger.LogDebug("stop {Stack}: {Message}", name, ex.Message);
            }
        }
    }

    private async Task EnsureHostAsync(CancellationToken cancellationToken)
    {
        if (_host is { IsRunning: true })
        {
            return;
        }
        await _hostGate.WaitAsync(cancellationToken);
        try
        {
            if (_host is { IsRunning: true })
            {
                return;
            }
            if (_host is not null)
            {
                await _host.DisposeAsync();
            }
            var host = new RuntimeHostProcess(_logger);
            host.EventReceived += OnHostEvent;
            host.Exited += OnHostExited;
            var xdg = Path.Combine(_options.StateRoot, ".xdg");
            Directory.CreateDirectory(xdg);
            var environment = new Dictionary<string, string?>
            {
                [ProcessTable.StateRootVariable] = _options.StateRoot,
                // Quiet and offline: no telemetry, no fetch of Cloudflare's request.cf data, no banner.
                ["WRANGLER_SEND_METRICS"] = "false",
                ["CLOUDFLARE_CF_FETCH_ENABLED"] = "false",
                ["WRANGLER_HIDE_BANNER"] = "true",
                ["XDG_CONFIG_HOME"] = xdg,
                ["NO_COLOR"] = "1",
                ["FORCE_COLOR"] = "0",
                ["NODE_NO_WARNINGS"] = "1",
            };
            // Every Worker's telemetry, exported by the host as OTLP JSON (or none: no endpoint).
            foreach (var (key, value) in Telemetry?.RuntimeHostSettings ?? TelemetryExport.Off)
            {
                environment[key] = value;
            }
            string[] arguments =
            [
                "--workers-dir", _options.WorkersDirectory,
                "--workers-subdomain", WorkersSubdomain,
                .. _options.HotReload ? ["--hot-reload"] : Array.Empty<string>(),
            ];
            try
            {
                await host.StartAsync(_node, _options.RuntimeHostScript, arguments, environment, _options.WorkersDirectory, cancellationToken);
            }
            catch
            {
                // A host that did not come up (or speaks another protocol) must not stay behind.
                await host.DisposeAsync();
                throw;
            }
            if (_egressPolicy is not null)
            {
                await host.SendAsync(new SetEgressPolicy(_egressPolicy), cancellationToken);
            }
            if (_hopFaults.Count > 0)
            {
                await host.SendAsync(new SetHopFaults(_hopFaults), cancellationToken);
            }
            _host = host;
        }
        finally
        {
            _hostGate.Release();
        }
    }

    private void OnHostEvent(HostEvent e)
    {
        switch (e.Event)
        {
            case "log" when e.Name is not null:
                Remember(e.Name, e.Line ?? "");
                LogReceived?.Invoke(new StackLogLine(e.Name, e.Level ?? "info", e.Line ?? ""));
                break;
            case "exited" when e.Name is not null:
                var message = $"workerd (pid {e.Pid}) exited unexpectedly";
                _logger.LogWarning("Stack {Stack}: {Message}", e.Name, message);
                LogReceived?.Invoke(new StackLogLine(e.Name, "error", message));
                _controls.TryRemove(e.Name, out _);
                Update(e.Name, s => s with { State = StackState.Failed, Crashed = true, Paused = false, ProcessId = null, LastError = message, RecentLog = e.Recent ?? s.RecentLog });
                break;
            case "reloading" when e.Name is not null:
                LogReceived?.Invoke(new StackLogLine(e.Name, "info", e.Reason ?? "reloading"));
                Update(e.Name, s => s with { State = StackState.Reloading });
                break;
            case "reloaded" when e.Name is not null:
                LogReceived?.Invoke(new StackLogLine(e.Name, "info", e.Reason ?? "reloaded"));
                Update(e.Name, s => s with { State = StackState.Running, ProcessId = e.Pid, Paused = s.Paused && s.ProcessId == e.Pid });
                break;
            case "control" when e is { Name: not null, Url: not null, Secret: not null }:
                _controls[e.Name] = new StackControl(new Uri(e.Url), e.Secret);
                break;
            case "source-changed" when e.Name is null:
                SourceChanged?.Invoke(e.Worker ?? "*");
                break;
            case "host-error":
                _logger.LogError("runtime host: {Message}", e.Message);
                break;
        }
    }

    private void OnHostExited(int? exitCode)
    {
        if (_disposed)
        {
            return;
        }
        _logger.LogError("The runtime host exited (code {Code}); every stack is down until restarted", exitCode);
        _controls.Clear();
        foreach (var name in _stacks.Keys)
        {
            Update(name, s => s.State is StackState.Stopped ? s : s with
            {
                State = StackState.Failed,
                Crashed = true,
                ProcessId = null,
                // A new host starts with no process paused, no route cut and every stack recorded.
                Paused = false,
                Partitioned = false,
                TelemetryStopped = false,
                LastError = $"the runtime host exited (code {exitCode})",
            });
        }
    }

    private void Remember(string name, string line)
    {
        if (_stacks.TryGetValue(name, out var entry))
        {
            lock (entry.Recent)
            {
                entry.Recent.Enqueue(line);
                if (entry.Recent.Count > RecentLines)
                {
                    entry.Recent.Dequeue();
                }
            }
        }
    }

    private Entry Get(string name) =>
        _stacks.TryGetValue(name, out var entry) ? entry : throw new KeyNotFoundException($"No stack named '{name}'.");

    private StackStatus Update(string name, Func<StackStatus, StackStatus> change)
    {
        StackStatus updated;
        var entry = Get(name);
        lock (entry)
        {
            updated = change(entry.Status);
            if (updated.State == StackState.Failed && updated.RecentLog is null)
            {
                lock (entry.Recent)
                {
                    updated = updated with { RecentLog = [.. entry.Recent] };
                }
            }
            entry.Status = updated;
        }
        StackChanged?.Invoke(updated);
        return updated;
    }

    private sealed record Entry(StackDefinition Definition, StackStatus InitialStatus)
    {
        public StackStatus Status { get; set; } = InitialStatus;
        public Queue<string> Recent { get; } = new();
    }
}
