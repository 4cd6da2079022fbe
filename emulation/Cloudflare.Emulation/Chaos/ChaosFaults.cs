using System.Text.Json;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Chaos;

/// <summary>
/// What the chaos API has set — fault rules, service effects, KV propagation delays — kept (and
/// written under the state root, so it survives a restart) and handed to each stack it applies to:
/// again whenever a stack (re)starts, as a new workerd starts with none. A stack nothing names gets
/// empty lists: it runs as if there were no chaos at all.
/// </summary>
public sealed class ChaosFaults
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly string[] BindingServices = ["d1", "r2", "kv", "worker"];
    private static readonly string[] HopServices = ["route", "egress"];
    /// <summary>What the runtime host's hops were last handed.</summary>
    private string _hopsPushed = "[]";
    private readonly StackSupervisor _supervisor;
    private readonly string _file;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ChaosSettings _settings;
    private readonly Lock _firings = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _pushes = new();
    /// <summary>A push this stack's workerd missed: what it holds is unknown until it is pushed again.</summary>
    private const int MissedPid = -1;

    private bool Missed(string stack) => _pushed.TryGetValue(stack, out var last) && last.Pid == MissedPid;

    /// <summary>What each stack's workerd (by pid) was last handed.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int? Pid, string Faults)> _pushed = new();
    /// <summary>Firings of the rules matched here (the API's, R2's S3 requests), by rule and stack.</summary>
    private Dictionary<(FaultRule Rule, string Stack), int> _fired = new();

    public ChaosFaults(StackSupervisor supervisor, string stateRoot)
    {
        _supervisor = supervisor;
        _file = Path.Combine(stateRoot, "chaos", "settings.json");
        _settings = Load(_file);
        supervisor.StackChanged += status =>
        {
            // A new workerd starts with nothing set: only when something is does it need it — or when
            // a push to it was missed (it was paused or not answering) and it may still hold old rules.
            if (status is { State: StackState.Running, Paused: false } && (!_settings.IsNone || Missed(status.Name)))
            {
                _ = PushQuietlyAsync(status.Name);
            }
        };
    }

    public ChaosSettings Settings => _settings;

    /// <summary>
    /// The settings kept from the last run; a file that cannot be read (or a rule that no longer checks
    /// out) is set aside rather than stopping the harness from starting.
    /// </summary>
    private static ChaosSettings Load(string file)
    {
        if (!File.Exists(file))
        {
            return ChaosSettings.None;
        }
        try
        {
            var settings = JsonSerializer.Deserialize<ChaosSettings>(File.ReadAllText(file), Json) ?? ChaosSettings.None;
            // Stacks are not up yet: their names are checked when settings change, not here.
            return new ChaosSettings(
                [.. (settings.Rules ?? []).OfType<FaultRule>().Where(r => r.Problem("rule", _ => true) is null)],
                settings.Effects ?? ChaosSettings.None.Effects,
                [.. (settings.KvStaleness ?? []).OfType<KvStaleness>()],
                [.. settings.SizeLimits.OfType<D1SizeLimit>()]);
        }
        catch (JsonException)
        {
            File.Move(file, file + ".unreadable", overwrite: true);
            return ChaosSettings.None;
        }
    }

    /// <summary>What is wrong with the first bad rule, naming it and its field; null when all are good.</summary>
    public string? Problem(IReadOnlyList<FaultRule> rules) =>
        rules.Select((rule, i) => rule.Problem($"[{i}]", name => _supervisor.Find(name) is not null)).FirstOrDefault(p => p is not null);

    /// <summary>What is wrong with the first bad KV delay, naming it and its field; null when all are good.</summary>
    public string? Problem(IReadOnlyList<KvStaleness> delays) =>
        delays.Select((delay, i) => delay.Problem($"[{i}]", name => _supervisor.DefinitionOf(name)?.Kv.Keys.ToList())).FirstOrDefault(p => p is not null);

    /// <summary>What is wrong with the first bad D1 size limit, naming it and its field; null when all are good.</summary>
    public string? Problem(IReadOnlyList<D1SizeLimit> limits) =>
        limits.Select((limit, i) => limit.Problem($"[{i}]", name => _supervisor.DefinitionOf(name)?.D1.Count > 0)).FirstOrDefault(p => p is not null);

    /// <summary>Replaces the settings with <paramref name="change"/>'s result (checked first), and hands each stack its own.</summary>
    public async Task<ChaosSettings> ChangeAsync(Func<ChaosSettings, ChaosSettings> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var next = change(_settings);
            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            await File.WriteAllTextAsync(_file + ".tmp", JsonSerializer.Serialize(next, Json), cancellationToken);
            File.Move(_file + ".tmp", _file, overwrite: true);
            _settings = next;
            lock (_firings)
            {
                // Rules kept by the change keep their counts; removed ones are forgotten.
                _fired = _fired.Where(f => next.Rules.Any(r => ReferenceEquals(r, f.Key.Rule))).ToDictionary();
            }
        }
        finally
        {
            _gate.Release();
        }
        foreach (var stack in _supervisor.Stacks.Where(s => s.State == StackState.Running))
        {
            if (stack.Paused)
            {
                // A stopped workerd would hold the change up until a timeout: it gets it on resume.
                _pushed[stack.Name] = (MissedPid, "");
                continue;
            }
            await PushQuietlyAsync(stack.Name);
        }
        await PushHopsAsync(cancellationToken);
        return _settings;
    }

    /// <summary>
    /// The rule of <paramref name="service"/> that fires for a call matched here (an API call, an S3
    /// request to a stack's bucket) now: the first within its window, with firings left (counted per
    /// stack), by its probability — counted as fired; null for none.
    /// </summary>
    public FaultRule? Fire(string service, string stack, string operation)
    {
        if (_settings.Rules.Count == 0)
        {
            return null;
        }
        var now = DateTimeOffset.UtcNow;
        lock (_firings)
        {
            foreach (var rule in _settings.Rules.Where(r => r.Service == service && r.Applies(stack) && (r.Operation == "*" || r.Operation == operation)))
            {
                if ((rule.From is { } from && now < from) || (rule.Until is { } until && now >= until))
                {
                    continue;
                }
                var fired = _fired.GetValueOrDefault((rule, stack));
                if ((rule.Times is { } times && fired >= times) || Random.Shared.NextDouble() >= rule.Probability)
                {
                    continue;
                }
                _fired[(rule, stack)] = fired + 1;
                return rule;
            }
        }
        return null;
    }

    /// <summary>How long a call matched here waits: the rule's latency (if one fired) plus the service's effect, each with its jitter.</summary>
    public TimeSpan DelayOf(string service, FaultRule? rule)
    {
        var effect = _settings.Effects.GetValueOrDefault(service);
        var ms = (rule?.LatencyMs ?? 0) + (Random.Shared.NextDouble() * (rule?.JitterMs ?? 0))
            + (effect?.LatencyMs ?? 0) + (Random.Shared.NextDouble() * (effect?.JitterMs ?? 0));
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>What a stack's bindings and fetch handler are to hold now.</summary>
    public StackFaults For(string stack, StackDefinition definition)
    {
        var rules = _settings.Rules.Where(r => BindingServices.Contains(r.Service) && r.Applies(stack)).Select(r =>
        {
            var error = r.Error is null ? null : FaultCatalogue.Find(r.Error);
            return new BindingFaultRule(r.Service, r.Operation, r.Probability, r.Times, error?.Message, error?.Code, error?.Status,
                r.LatencyMs, r.JitterMs, r.From, r.Until);
        }).ToList();
        var effects = _settings.Effects.Where(e => BindingServices.Contains(e.Key) && !e.Value.IsNone).ToDictionary();
        var staleness = new Dictionary<string, KvStalenessSetting>();
        // Later settings win over earlier ones for the same binding.
        foreach (var delay in _settings.KvStaleness.Where(d => d.Stack == stack))
        {
            foreach (var binding in definition.Kv.Keys.Where(b => delay.Binding == "*" || delay.Binding == b))
            {
                staleness[binding] = new KvStalenessSetting(delay.DelayMs, delay.Probability);
            }
        }
        var limit = _settings.SizeLimits.LastOrDefault(l => l.Stack == stack)?.MaxSizeBytes;
        return new StackFaults(rules, effects, staleness, limit);
    }

    /// <summary>
    /// The route and egress rules, to the runtime host's hops — when they changed (so spent rules stay
    /// spent). Also at start, for rules kept from the last run.
    /// </summary>
    public async Task PushHopsAsync(CancellationToken cancellationToken)
    {
        var rules = _settings.Rules.Where(r => HopServices.Contains(r.Service)).Select(r => new HopFaultRule(r.Service, r.Stack, r.Operation,
            r.Probability, r.Times, r.Error is null ? null : FaultCatalogue.Find(r.Error)?.Message, r.LatencyMs, r.JitterMs, r.From, r.Until)).ToList();
        var text = JsonSerializer.Serialize(rules);
        if (text == _hopsPushed)
        {
            return;
        }
        await _supervisor.SetHopFaultsAsync(rules, cancellationToken);
        _hopsPushed = text;
    }

    /// <summary>
    /// Hands a stack what applies to it — unless that workerd already has exactly this: a change for
    /// another stack, or a pause or partition of this one, must not re-arm the counts of rules already
    /// fired. One push per stack at a time, reading the settings inside, so an older one never lands
    /// after a newer one.
    /// </summary>
    private async Task PushQuietlyAsync(string stack)
    {
        if (_supervisor.DefinitionOf(stack) is not { } definition)
        {
            return;
        }
        var gate = _pushes.GetOrAdd(stack, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            var pid = _supervisor.Find(stack)?.ProcessId;
            var faults = For(stack, definition);
            var text = JsonSerializer.Serialize(faults);
            if (_pushed.TryGetValue(stack, out var last) ? last.Pid == pid && last.Faults == text : faults.Rules.Count == 0 && faults.Effects.Count == 0 && faults.Staleness.Count == 0 && faults.D1MaxSizeBytes is null)
            {
                return;
            }
            await _supervisor.SetFaultsAsync(stack, faults, CancellationToken.None);
            _pushed[stack] = (pid, text);
        }
        catch (RuntimeHostException)
        {
            // Not serving now: it gets its settings when it runs again (StackChanged → Running), even
            // if there are none by then — it may still hold the old ones.
            _pushed[stack] = (MissedPid, "");
        }
        finally
        {
            gate.Release();
        }
    }
}
