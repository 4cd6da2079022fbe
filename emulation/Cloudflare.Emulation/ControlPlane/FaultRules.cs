using System.Collections.Concurrent;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>One injected failure: the next <see cref="Times"/> calls of an API operation answer <see cref="Status"/>.</summary>
public sealed record FaultRule(string Operation, int Times, int Status);

/// <summary>
/// Failure injection for architects and tests (in the spirit of LocalStack's chaos API): make a named
/// operation of the local Cloudflare API (d1.create, r2.create, kv.create, scripts.upload, d1.query,
/// workers.subdomain, …) fail a given number of times.
/// </summary>
public sealed class FaultRules
{
    private readonly ConcurrentDictionary<string, FaultRule> _rules = new(StringComparer.Ordinal);

    public IReadOnlyCollection<FaultRule> Active => [.. _rules.Values];

    public void Add(FaultRule rule) => _rules[rule.Operation] = rule;

    public void Clear() => _rules.Clear();

    /// <summary>True (with the status to answer) when a call of <paramref name="operation"/> must fail now.</summary>
    public bool TryConsume(string operation, out int status)
    {
        status = 0;
        while (_rules.TryGetValue(operation, out var rule))
        {
            var next = rule with { Times = rule.Times - 1 };
            var updated = next.Times > 0 ? _rules.TryUpdate(operation, next, rule) : _rules.TryRemove(new(operation, rule));
            if (updated)
            {
                status = rule.Status;
                return true;
            }
        }
        return false;
    }
}
