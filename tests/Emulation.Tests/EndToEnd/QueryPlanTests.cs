using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Every list the account API offers — each entity with no filter, each filter and each pair of
/// filters, each sort, both directions, first and next page — is answered from an index in the
/// account's real D1: no table scan, no sort in a temporary b-tree, and a filtered list seeks to its
/// rows. The SQL is the account Worker's own (store.ts listStatement, printed by
/// workers/tests/support/list-statements.ts), so a change to the real query is what is checked.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class QueryPlanTests(HarnessFixture harness)
{
    private sealed record ListStatement(string Entity, string Table, string[] Filters, string Sort, bool NextPage, string Sql, JsonElement[] Params);

    [Fact]
    public async Task Every_list_query_uses_an_index_for_its_filters_and_its_order()
    {
        var statements = await ListStatementsAsync();
        // Every entity of the catalog, and combined filters among them.
        Assert.True(statements.Select(s => s.Entity).Distinct().Count() >= 13, "expected every entity of the account API");
        Assert.Contains(statements, s => s.Filters.Length == 2);

        var failures = new List<string>();
        foreach (var s in statements)
        {
            var parameters = s.Params.Select(p => (object?)(p.ValueKind == JsonValueKind.Number ? p.GetInt32() : p.GetString())).ToList();
            var plan = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf("account-1"), "DB", "EXPLAIN QUERY PLAN " + s.Sql, parameters, CancellationToken.None);
            var steps = plan.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("detail").GetString()!).ToList();
            var why = Problem(s, steps);
            if (why is not null)
            {
                failures.Add($"{s.Entity}?{string.Join('&', s.Filters.Select(f => f + "=…"))}&sort={s.Sort}{(s.NextPage ? "&cursor=…" : "")}: {why}\n  {s.Sql}\n  → {string.Join(" | ", steps)}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {statements.Count} list queries:\n{string.Join('\n', failures)}");
    }

    private static string? Problem(ListStatement s, List<string> steps)
    {
        if (!steps.Any(step => step.Contains("USING INDEX", StringComparison.Ordinal) || step.Contains("USING COVERING INDEX", StringComparison.Ordinal)
            || step.Contains("USING INTEGER PRIMARY KEY", StringComparison.Ordinal) || step.Contains("USING PRIMARY KEY", StringComparison.Ordinal)))
        {
            return "no index";
        }
        if (steps.Any(step => step.StartsWith($"SCAN {s.Table}", StringComparison.Ordinal) && !step.Contains("INDEX", StringComparison.Ordinal)))
        {
            return "a table scan";
        }
        if (steps.Any(step => step.Contains("TEMP B-TREE", StringComparison.Ordinal)))
        {
            return "a sort in a temporary b-tree";
        }
        // A filtered list seeks to its rows; walking a whole index and filtering is a scan in disguise.
        return s.Filters.Length > 0 && !steps.Any(step => step.StartsWith("SEARCH", StringComparison.Ordinal)) ? "no search on its filter" : null;
    }

    private static async Task<List<ListStatement>> ListStatementsAsync()
    {
        var result = await Cli.Wrap("node")
            .WithArguments(["--import", "tsx", "tests/support/list-statements.ts"])
            .WithWorkingDirectory(RepositoryPaths.Workers)
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync();
        Assert.True(result.ExitCode == 0, result.StandardError);
        return JsonSerializer.Deserialize<List<ListStatement>>(result.StandardOutput, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }
}
