using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Load;

/// <summary>What one year of growth measured (sizes in bytes, times in milliseconds); a step that failed says why.</summary>
public sealed record CapacityYearResult(
    int Year,
    long Rows,
    long D1Bytes,
    long ReplicationLogBytes,
    long R2Bytes,
    double ListP95Ms,
    double SearchP95Ms,
    double ExportMs,
    long ExportBytes,
    double RestartMs,
    double MigrationMs,
    string? Problem = null)
{
    /// <summary>The database as production would hold it: the file less the emulator's replication log.</summary>
    public long OwnD1Bytes => D1Bytes - ReplicationLogBytes;
}

/// <summary>
/// Grows one account's D1 and R2 year by year with a <see cref="CapacityHistory"/> — rows written in
/// batches through the stack's control entrypoint, documents put into its bucket — and after each year
/// measures what an architect asks of the full database: its size (against D1's limit), the bucket's,
/// a list page's and a search's p95 through the platform, a full export, the stack's restart, and a
/// new migration (a generated column and its index on the largest table), undone after.
/// </summary>
public sealed class CapacityRun(StackSupervisor supervisor, HttpClient http, Uri platform, string account, string token, double scale)
{
    private const int BatchStatements = 200;
    private const int Probes = 40;
    private readonly string _stack = $"acct-{account}";
    private readonly CapacityHistory _history = new(account, scale);
    private long _rows;
    private long _r2Bytes;

    public async Task<CapacityYearResult> GrowAsync(int year, CancellationToken cancellationToken)
    {
        var data = _history.Year(year);
        foreach (var chunk in data.Rows.Chunk(BatchStatements))
        {
            await supervisor.BatchD1Async(_stack, "DB", [.. chunk.Select(r => ($"INSERT INTO {r.Table} (id, body) VALUES (?, ?)", (IReadOnlyList<object?>)[r.Id, r.Body]))], cancellationToken);
        }
        _rows += data.Rows.Count;
        await Parallel.ForEachAsync(data.Documents, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (document, ct) =>
        {
            using var content = new ByteArrayContent(document.Content());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
            using var response = await supervisor.SendToControlAsync(_stack, HttpMethod.Put, $"r2/DOCUMENTS/objects/{document.Key}", content, ct);
            response.EnsureSuccessStatusCode();
        });
        _r2Bytes += data.DocumentBytes;
        return await MeasureAsync(year, data, cancellationToken);
    }

    private async Task<CapacityYearResult> MeasureAsync(int year, CapacityYear data, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        // D1 reports the database's size with every result (meta.size_after); its pragmas are not allowed.
        var d1Bytes = (await supervisor.RunD1SqlAsync(_stack, "DB", "SELECT 1", [], cancellationToken))[0].GetProperty("meta").GetProperty("size_after").GetInt64();
        var logBytes = await ScalarAsync("SELECT coalesce(sum(length(statements)), 0) AS n FROM _emulator_d1_log", cancellationToken);
        var list = await P95Async(_ => "/api/clients?status=active&sort=name&limit=20", cancellationToken);
        var emails = data.Rows.Where(r => r.Table == "clients").Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("email").GetString()!).ToList();
        var search = await P95Async(i => $"/api/clients?email={Uri.EscapeDataString(emails[i * 7919 % emails.Count])}", cancellationToken);

        var clock = Stopwatch.StartNew();
        long exportBytes = 0;
        try
        {
            exportBytes = (await supervisor.ExportD1Async(_stack, "DB", noSchema: false, noData: false, [], cancellationToken)).Length;
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or HttpRequestException or OutOfMemoryException)
        {
            problems.Add($"export: {ex.Message}");
        }
        var exportMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        await supervisor.RestartStackAsync(_stack, cancellationToken);
        await P95Async(_ => "/api/clients?limit=1", cancellationToken, probes: 1);
        var restartMs = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        await supervisor.RunD1SqlAsync(_stack, "DB",
            "ALTER TABLE audit_events ADD COLUMN actor TEXT GENERATED ALWAYS AS (json_extract(body, '$.actor')) VIRTUAL; CREATE INDEX audit_events_actor_at ON audit_events (actor, at, id);",
            [], cancellationToken);
        var migrationMs = clock.Elapsed.TotalMilliseconds;
        await supervisor.RunD1SqlAsync(_stack, "DB", "DROP INDEX audit_events_actor_at; ALTER TABLE audit_events DROP COLUMN actor;", [], cancellationToken);

        return new CapacityYearResult(year, _rows, d1Bytes, logBytes, _r2Bytes, list, search, exportMs, exportBytes, restartMs, migrationMs,
            problems.Count == 0 ? null : string.Join("; ", problems));
    }

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        var result = await supervisor.RunD1SqlAsync(_stack, "DB", sql, [], cancellationToken);
        return result[0].GetProperty("results")[0].GetProperty("n").GetInt64();
    }

    /// <summary>The p95 of requests through the platform, one after another (a quiet system: what the data's size costs).</summary>
    private async Task<double> P95Async(Func<int, string> path, CancellationToken cancellationToken, int probes = Probes)
    {
        var times = new List<double>();
        for (var i = 0; i < probes; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(platform, $"/accounts/{account}{path(i)}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var clock = Stopwatch.StartNew();
            using var response = await http.SendAsync(request, cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            times.Add(clock.Elapsed.TotalMilliseconds);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"GET {path(i)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }
        times.Sort();
        return times[Math.Clamp((int)Math.Ceiling(0.95 * times.Count) - 1, 0, times.Count - 1)];
    }
}
