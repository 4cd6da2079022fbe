using System.Text.Json;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Chaos;

/// <summary>
/// The chaos API's fault rules: kept (and written under the state root, so they survive a restart),
/// and handed to each stack they apply to — again whenever a stack (re)starts, as a new workerd
/// starts with none. A stack no rule names gets an empty list: it runs as if there were no rules.
/// </summary>
public sealed class ChaosFaults
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly StackSupervisor _supervisor;
    private readonly string _file;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<FaultRule> _rules;
    private readonly Lock _firings = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _pushes = new();
    /// <summary>What each stack's workerd (by pid) was last handed.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (int? Pid, string Rules)> _pushed = new();
    private Dictionary<FaultRule, int> _fired = new(ReferenceEqualityComparer.Instance);

    public ChaosFaults(StackSupervisor supervisor, string stateRoot)
    {
        _supervisor = supervisor;
        _file = Path.Combine(stateRoot, "chaos", "faults.json");
        _rules = Load(_file);
        supervisor.StackChanged += status =>
        {
            // A new workerd starts with no rules: only when there are some does it need them.
            if (status.State == StackState.Running && _rules.Count > 0)
            {
                _ = PushQuietlyAsync(status.Name);
            }
        };
    }

    public IReadOnlyList<FaultRule> Rules => _rules;

    /// <summary>
    /// The rules kept from the last run; a file that cannot be read (or a rule that no longer checks
    /// out) is set aside rather than stopping the harness from starting.
    /// </summary>
    private static IReadOnlyList<FaultRule> Load(string file)
    {
        if (!File.Exists(file))
        {
            return [];
        }
        try
        {
            var rules = JsonSerializer.Deserialize<List<FaultRule?>>(File.ReadAllText(file), Json) ?? [];
            // Stacks are not up yet: their names are checked when rules change, not here.
            return [.. rules.OfType<FaultRule>().Where(r => r.Problem("rule", _ => true) is null)];
        }
        catch (JsonException)
        {
            File.Move(file, file + ".unreadable", overwrite: true);
            return [];
        }
    }

    /// <summary>What is wrong with the first bad rule, naming it and its field; null when all are good.</summary>
    public string? Problem(IReadOnlyList<FaultRule> rules) =>
        rules.Select((rule, i) => rule.Problem($"[{i}]", name => _supervisor.Find(name) is not null)).FirstOrDefault(p => p is not null);

    /// <summary>Replaces the rules with <paramref name="change"/>'s result (checked first), and hands each stack its own.</summary>
    public async Task<IReadOnlyList<FaultRule>> ChangeAsync(Func<IReadOnlyList<FaultRule>, IReadOnlyList<FaultRule>> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var next = change(_rules);
            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            await File.WriteAllTextAsync(_file + ".tmp", JsonSerializer.Serialize(next, Json), cancellationToken);
            File.Move(_file + ".tmp", _file, overwrite: true);
            _rules = next;
            lock (_firings)
            {
                // Rules kept by the change keep their counts; removed ones are forgotten.
                var kept = new Dictionary<FaultRule, int>(ReferenceEqualityComparer.Instance);
                foreach (var (rule, fired) in _fired.Where(f => next.Any(r => ReferenceEquals(r, f.Key))))
                {
                    kept[rule] = fired;
                }
                _fired = kept;
            }
        }
        finally
        {
            _gate.Release();
        }
        foreach (var stack in _supervisor.Stacks.Where(s => s.State == StackState.Running))
        {
            await PushQuietlyAsync(stack.Name);
        }
        return _rules;
    }

    /// <summary>
    /// The "api" rule that fires for an API call now (the first within its window, with firings
    /// left, by its probability), counted as fired; null for none.
    /// </summary>
    public FaultRule? ApiFault(string operation)
    {
        if (_rules.Count == 0)
        {
            return null;
        }
        var now = DateTimeOffset.UtcNow;
        lock (_firings)
        {
            foreach (var rule in _rules.Where(r => r.Service == "api" && (r.Operation == "*" || r.Operation == operation)))
            {
                if ((rule.From is { } from && now < from) || (rule.Until is { } until && now >= until))
                {
                    continue;
                }
                var fired = _fired.GetValueOrDefault(rule);
                if ((rule.Times is { } times && fired >= times) || Random.Shared.NextDouble() >= rule.Probability)
                {
                    continue;
                }
                _fired[rule] = fired + 1;
                return rule;
            }
        }
        return null;
    }

    /// <summary>
    /// Hands a stack the rules that apply to it, resolved to their error text (each D1 binding gets
    /// them) — unless that workerd already has exactly these: a change for one stack, or a pause or
    /// partition of it, must not re-arm the counts of rules already fired. One push per stack at a
    /// time, reading the rules inside, so an older list never lands after a newer one.
    /// </summary>
    private async Task PushQuietlyAsync(string stack)
    {
        if (_supervisor.DefinitionOf(stack) is not { } definition || definition.D1.Count == 0)
        {
            return;
        }
        var gate = _pushes.GetOrAdd(stack, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            await PushAsync(stack, definition);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task PushAsync(string stack, StackDefinition definition)
    {
        var pid = _supervisor.Find(stack)?.ProcessId;
        var rules = _rules.Where(r => r.Service == "d1" && r.Applies(stack)).Select(r => new
        {
            operation = r.Operation,
            probability = r.Probability,
            times = r.Times,
            message = r.Error is null ? null : FaultCatalogue.Find(r.Error)?.Message,
            latencyMs = r.LatencyMs,
            jitterMs = r.JitterMs,
            from = r.From,
            until = r.Until,
        }).ToList();
        var text = JsonSerializer.Serialize(rules);
        if (_pushed.TryGetValue(stack, out var last) && last.Pid == pid && last.Rules == text)
        {
            return;
        }
        try
        {
            foreach (var binding in definition.D1.Keys)
            {
                await _supervisor.SetD1FaultsAsync(stack, binding, rules, CancellationToken.None);
            }
            _pushed[stack] = (pid, text);
        }
        catch (RuntimeHostException)
        {
            // Not serving now: it gets its rules when it runs again (StackChanged → Running).
            _pushed.TryRemove(stack, out _);
        }
    }
}
