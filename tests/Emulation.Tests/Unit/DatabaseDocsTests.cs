using System.Text.RegularExpressions;
using Emulation.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Emulation.Tests.Unit;

/// <summary>
/// The schema documents the seed names must tell the truth: every table and generated column in the
/// migrations is in db-tables.md (and nothing else is), every table is in db-diagrams.md, every
/// model file named exists, and every generated column is indexed.
/// </summary>
public sealed partial class DatabaseDocsTests
{
    private static readonly string DocsDir = Path.Combine(RepositoryPaths.Root, "docs", "skills", "db-setup");

    public static TheoryData<string> Workers => ["platform", "account"];

    [Theory]
    [MemberData(nameof(Workers))]
    public void Every_table_and_generated_column_is_documented_and_nothing_else(string worker)
    {
        var actual = MigratedSchema(worker);
        var documented = DocumentedTables();
        Assert.NotEmpty(actual);
        Assert.NotEmpty(documented);

        foreach (var (table, columns) in actual)
        {
            Assert.True(documented.ContainsKey(table), $"db-tables.md does not list table '{table}' ({worker} migrations)");
            Assert.Equal(columns.Order(StringComparer.Ordinal), documented[table].Order(StringComparer.Ordinal));
        }
        var ownDocs = DocumentedTables(worker == "platform" ? "Shared D1" : "Account D1");
        Assert.All(ownDocs.Keys, table => Assert.True(actual.ContainsKey(table), $"db-tables.md lists '{table}', which the {worker} migrations do not create"));
    }

    [Theory]
    [MemberData(nameof(Workers))]
    public void Every_table_is_in_the_diagrams(string worker)
    {
        var diagrams = File.ReadAllText(Path.Combine(DocsDir, "db-diagrams.md"));
        Assert.All(MigratedSchema(worker).Keys, table => Assert.Matches($@"\b{table}\b", diagrams));
    }

    [Fact]
    public void Every_model_file_named_exists()
    {
        var text = File.ReadAllText(Path.Combine(DocsDir, "db-tables.md"));
        var named = ModelFile().Matches(text);
        Assert.True(named.Count >= 10, $"db-tables.md names {named.Count} model files: the pattern no longer matches its rows");
        foreach (Match match in named)
        {
            var file = Path.Combine(RepositoryPaths.Root, match.Groups["path"].Value);
            Assert.True(File.Exists(file), $"db-tables.md names {match.Groups["path"].Value}, which does not exist");
            Assert.Contains(match.Groups["symbol"].Value, File.ReadAllText(file), StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Workers))]
    public void Every_generated_column_is_indexed(string worker)
    {
        using var db = Migrate(worker);
        foreach (var (table, columns) in MigratedSchema(worker))
        {
            var indexed = Query(db, $"SELECT ii.name FROM pragma_index_list('{table}') il JOIN pragma_index_info(il.name) ii").ToHashSet();
            Assert.All(columns, column => Assert.True(indexed.Contains(column), $"{table}.{column} is generated but has no index: drop it or index it"));
        }
    }

    [Fact]
    public void The_rules_file_exists_and_names_both_tiers()
    {
        var rules = File.ReadAllText(Path.Combine(RepositoryPaths.Root, ".cursor", "rules", "d1-sql-json-body.mdc"));
        Assert.Contains("Shared D1", rules, StringComparison.Ordinal);
        Assert.Contains("Account D1", rules, StringComparison.Ordinal);
    }

    private static Dictionary<string, List<string>> MigratedSchema(string worker)
    {
        using var db = Migrate(worker);
        return Query(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .ToDictionary(t => t, t => Query(db, $"SELECT name FROM pragma_table_xinfo('{t}') WHERE hidden IN (2, 3)").ToList());
    }

    private static SqliteConnection Migrate(string worker)
    {
        var db = new SqliteConnection("Data Source=:memory:");
        db.Open();
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryPaths.Workers, worker, "migrations"), "*.sql").Order(StringComparer.Ordinal))
        {
            using var command = db.CreateCommand();
            command.CommandText = File.ReadAllText(file);
            command.ExecuteNonQuery();
        }
        return db;
    }

    private static IEnumerable<string> Query(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }

    /// <summary>Rows of db-tables.md's tables (optionally only under one "## heading"): table → generated columns.</summary>
    private static Dictionary<string, List<string>> DocumentedTables(string? section = null)
    {
        var text = File.ReadAllText(Path.Combine(DocsDir, "db-tables.md"));
        if (section is not null)
        {
            var start = text.IndexOf("## " + section, StringComparison.Ordinal);
            var end = text.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
            text = text[start..(end < 0 ? text.Length : end)];
        }
        var tables = new Dictionary<string, List<string>>();
        foreach (Match row in TableRow().Matches(text))
        {
            tables[row.Groups["table"].Value] = [.. Regex.Matches(row.Groups["columns"].Value, "`([a-z_]+)`").Select(m => m.Groups[1].Value)];
        }
        return tables;
    }

    [GeneratedRegex(@"^\|[^|]+\|[^|]+\|\s*`(?<table>[a-z_]+)`\s*\|(?<columns>[^|]*)\|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex(@"`(?<path>workers/[^`]+\.ts)` \(`(?<symbol>\w+)`\)")]
    private static partial Regex ModelFile();
}
