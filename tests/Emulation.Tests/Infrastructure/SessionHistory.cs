namespace Emulation.Tests.Infrastructure;

/// <summary>One operation a client saw: it wrote or read <see cref="Record"/> and got this version (0: not found).</summary>
public sealed record Observation(int Client, int Step, bool Write, string Record, long Version, string? Bookmark);

/// <summary>
/// Checks a recorded history against the guarantees D1 sessions give each client that carries its
/// bookmark from one request to the next: read-your-writes, monotonic reads, and bookmarks that never
/// go back. It judges only the history, so it can check any interleaving, however it came about.
/// </summary>
public static class SessionHistory
{
    public static IReadOnlyList<string> Violations(IEnumerable<Observation> history)
    {
        var violations = new List<string>();
        foreach (var client in history.GroupBy(o => o.Client))
        {
            var known = new Dictionary<string, (long Version, bool Own)>();
            string? lastBookmark = null;
            foreach (var o in client.OrderBy(o => o.Step))
            {
                if (known.TryGetValue(o.Record, out var seen) && o.Version < seen.Version)
                {
                    var rule = seen.Own ? "read-your-writes" : "monotonic reads";
                    violations.Add($"client {o.Client} step {o.Step}: {rule} broken on {o.Record}: saw version {o.Version} after {seen.Version}");
                }
                if (!known.TryGetValue(o.Record, out seen) || o.Version > seen.Version)
                {
                    known[o.Record] = (o.Version, o.Write);
                }
                if (o.Bookmark is not null)
                {
                    if (lastBookmark is not null && string.CompareOrdinal(o.Bookmark, lastBookmark) < 0)
                    {
                        violations.Add($"client {o.Client} step {o.Step}: bookmark went back from {lastBookmark} to {o.Bookmark}");
                    }
                    lastBookmark = o.Bookmark;
                }
            }
        }
        return violations;
    }
}
