using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Every list the account API offers (each filter with each sort, first page and next page) is
/// answered from an index in the account's real D1: no table scan, no sort in a temporary b-tree.
/// The SQL below has the shape workers/account/src/entities/store.ts builds.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class QueryPlanTests(HarnessFixture harness)
{
    private sealed record Listing(string Table, string? Filter, string Sort, bool SoftDelete = false, string? Visible = null);

    private static readonly Listing[] Listings =
    [
        new("clients", null, "name", SoftDelete: true),
        new("clients", "status", "name", SoftDelete: true),
        new("clients", null, "created_at", SoftDelete: true),
        new("clients", null, "updated_at", SoftDelete: true),
        new("clients", "assigned_to", "name", SoftDelete: true),
        new("clients", "email", "name", SoftDelete: true),
        new("users", null, "name"),
        new("users", "role", "name"),
        new("users", "status", "name"),
        new("users", "email", "name"),
        new("groups", null, "name"),
        new("group_members", "group_id", "id"),
        new("group_members", "user_id", "id"),
        new("client_dependants", "client_id", "name"),
        new("client_dependants", null, "name"),
        new("client_dependant_clients", "dependant_id", "id"),
        new("client_dependant_clients", "client_id", "id"),
        new("cases", null, "opened_at", SoftDelete: true),
        new("cases", "client_id", "opened_at", SoftDelete: true),
        new("cases", "status", "opened_at", SoftDelete: true),
        new("cases", null, "title", SoftDelete: true),
        new("cases", "assigned_to", "opened_at", SoftDelete: true),
        new("case_tasks", null, "due_date"),
        new("case_tasks", "case_id", "due_date"),
        new("case_tasks", "status", "due_date"),
        new("case_tasks", "assigned_to", "due_date"),
        new("case_tasks", "due_date", "due_date"),
        new("documents", null, "created_at", SoftDelete: true, Visible: "status = 'active'"),
        new("documents", "client_id", "created_at", SoftDelete: true, Visible: "status = 'active'"),
        new("documents", "case_id", "created_at", SoftDelete: true, Visible: "status = 'active'"),
        new("documents", null, "name", SoftDelete: true, Visible: "status = 'active'"),
        new("contact_companies", null, "name"),
        new("contact_companies", "kind", "name"),
        new("contact_individuals", null, "last_name"),
        new("contact_individuals", "company_id", "last_name"),
        new("contact_individuals", "email", "last_name"),
        new("client_contacts", "client_id", "id"),
        new("client_contacts", "contact_id", "id"),
        new("audit_events", "entity", "at"),
    ];

    public static TheoryData<int, bool, bool> Cases()
    {
        var data = new TheoryData<int, bool, bool>();
        for (var i = 0; i < Listings.Length; i++)
        {
            foreach (var descending in new[] { false, true })
            {
                foreach (var nextPage in new[] { false, true })
                {
                    data.Add(i, descending, nextPage);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task List_queries_use_an_index_for_filter_and_order(int listing, bool descending, bool nextPage)
    {
        var l = Listings[listing];
        var conditions = new List<string>();
        if (l.SoftDelete)
        {
            conditions.Add("deleted_at IS NULL");
        }
        if (l.Visible is not null)
        {
            conditions.Add(l.Visible);
        }
        var parameters = new List<object?>();
        if (l.Filter is not null)
        {
            conditions.Add($"{l.Filter} = ?");
            parameters.Add("x");
        }
        if (l.Table == "audit_events")
        {
            conditions.Add("entity_id = ?");
            parameters.Add("x");
        }
        var direction = descending ? "DESC" : "ASC";
        var byId = l.Sort == "id";
        if (nextPage)
        {
            conditions.Add(byId ? $"id {(descending ? "<" : ">")} ?" : $"({l.Sort}, id) {(descending ? "<" : ">")} (?, ?)");
            parameters.AddRange(byId ? ["m"] : ["m", "m"]);
        }
        var order = byId ? $"id {direction}" : $"{l.Sort} {direction}, id {direction}";
        var sql = $"EXPLAIN QUERY PLAN SELECT body, {l.Sort} AS sort_key FROM {l.Table}" +
                  (conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "") +
                  $" ORDER BY {order} LIMIT 51";

        var plan = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf("account-1"), "DB", sql, parameters, CancellationToken.None);
        var steps = plan.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("detail").GetString()!).ToList();
        var text = string.Join(" | ", steps);

        Assert.True(steps.Any(s => s.Contains("USING INDEX", StringComparison.Ordinal) || s.Contains("USING COVERING INDEX", StringComparison.Ordinal)), $"{sql}\n→ {text}");
        Assert.DoesNotContain(steps, s => s.StartsWith($"SCAN {l.Table}", StringComparison.Ordinal) && !s.Contains("INDEX", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.Contains("TEMP B-TREE", StringComparison.Ordinal));
        if (l.Filter is not null)
        {
            // A filtered list seeks to its rows; walking a whole index and filtering is a scan in disguise.
            Assert.True(steps.Any(s => s.StartsWith("SEARCH", StringComparison.Ordinal)), $"{sql}\n→ {text}");
        }
    }
}
