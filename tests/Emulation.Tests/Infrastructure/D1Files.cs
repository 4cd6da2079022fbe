using Microsoft.Data.Sqlite;

namespace Emulation.Tests.Infrastructure;

/// <summary>Reads a stack's D1 SQLite files straight from disk, read-only: the ground truth of where data lives.</summary>
internal static class D1Files
{
    /// <summary>The D1 SQLite files below a folder (a stack's or a resource's).</summary>
    public static IReadOnlyList<string> Of(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*.sqlite", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).Equals("metadata.sqlite", StringComparison.Ordinal))];

    /// <summary>How many rows of <paramref name="table"/> have this id in one SQLite file (0 when the table is absent).</summary>
    public static long CountRows(string file, string table, string id)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $table";
        exists.Parameters.AddWithValue("$table", table);
        if ((long)exists.ExecuteScalar()! == 0)
        {
            return 0;
        }
        using var count = connection.CreateCommand();
        count.CommandText = $"SELECT count(*) FROM \"{table}\" WHERE id = $id OR body LIKE '%' || $id || '%'";
        count.Parameters.AddWithValue("$id", id);
        return (long)count.ExecuteScalar()!;
    }
}
