using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>
/// A Worker whose second migration is broken, in a workers folder of its own (the repository's npm
/// packages linked in): the start fails naming that migration, and once the file is mended a start
/// applies it without running the first one again.
/// </summary>
public sealed class MigrationFailureTests : IAsyncLifetime
{
    private readonly string _root = RepositoryPaths.NewStateRoot("migrations");
    private StackSupervisor _supervisor = null!;

    private string Migrations => Path.Combine(_root, "workers", "ledger", "migrations");

    public async Task InitializeAsync()
    {
        var workers = Path.Combine(_root, "workers");
        Directory.CreateDirectory(Path.Combine(workers, "ledger", "src"));
        Directory.CreateDirectory(Migrations);
        File.CreateSymbolicLink(Path.Combine(workers, "node_modules"), Path.Combine(RepositoryPaths.Workers, "node_modules"));
        File.Copy(Path.Combine(RepositoryPaths.Workers, "package.json"), Path.Combine(workers, "package.json"));
        await File.WriteAllTextAsync(Path.Combine(workers, "ledger", "wrangler.jsonc"), """
            {
              "name": "ledger",
              "main": "src/index.js",
              "compatibility_date": "2026-07-01",
              "d1_databases": [{ "binding": "DB", "database_name": "ledger", "database_id": "x", "migrations_dir": "migrations" }]
            }
            """);
        await File.WriteAllTextAsync(Path.Combine(workers, "ledger", "src", "index.js"), "export default { fetch: () => new Response('ok') };\n");
        // Without IF NOT EXISTS: running it a second time would fail.
        await File.WriteAllTextAsync(Path.Combine(Migrations, "0001_entries.sql"), "CREATE TABLE entries (id INTEGER PRIMARY KEY);\n");
        await File.WriteAllTextAsync(Path.Combine(Migrations, "0002_totals.sql"), "CREATE TABLE totals (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n");

        _supervisor = await StandaloneSupervisor.StartAsync(Path.Combine(_root, "state"), workers);
    }

    public async Task DisposeAsync()
    {
        await _supervisor.DisposeAsync();
        HarnessFixture.TryDelete(_root);
    }

    private static StackDefinition Ledger() => new("ledger-1", "ledger",
        D1: new Dictionary<string, string> { ["DB"] = "ledger-1-db" }, R2: new Dictionary<string, string>(), Kv: new Dictionary<string, string>(), Vars: new Dictionary<string, string>());

    [Fact]
    public async Task A_failing_migration_is_named_rolled_back_whole_and_applied_by_the_next_start_once_mended()
    {
        var error = await Assert.ThrowsAsync<RuntimeHostException>(() => _supervisor.StartStackAsync(Ledger(), CancellationToken.None));
        Assert.Contains("0002_totals.sql", error.Message, StringComparison.Ordinal);
        Assert.Contains("no_such_table", error.Message, StringComparison.Ordinal);
        Assert.Equal(StackState.Failed, _supervisor.Find("ledger-1")!.State);

        await File.WriteAllTextAsync(Path.Combine(Migrations, "0002_totals.sql"), "CREATE TABLE totals (id INTEGER PRIMARY KEY);\n");
        var restarted = await _supervisor.StartStackAsync(Ledger(), CancellationToken.None);

        Assert.Equal(StackState.Running, restarted.State);
        var applied = await _supervisor.QueryD1Async("ledger-1", "DB", "SELECT name FROM d1_migrations ORDER BY id", [], CancellationToken.None);
        Assert.Equal(["0001_entries.sql", "0002_totals.sql"], applied.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
        // The broken version's CREATE TABLE totals was rolled back with it, or the mended one would have failed.
        var tables = await _supervisor.QueryD1Async("ledger-1", "DB", "SELECT name FROM sqlite_schema WHERE name IN ('entries', 'totals') ORDER BY name", [], CancellationToken.None);
        Assert.Equal(["entries", "totals"], tables.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
    }
}
