using System.Net.Http.Json;
using System.Text.Json;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// Calls a stack's control entrypoint (emulation/runtime-host/control-entrypoint.js) straight from
/// the harness, with the stack's secret: D1 queries and batches, sessions, read-replication settings,
/// and KV and R2 listings. Node is not in the way of these; it keeps the stack's lifecycle.
/// </summary>
internal sealed class ControlEntrypointClient(HttpClient http)
{
    public Task<JsonElement> QueryAsync(StackControl control, string binding, string sql, IReadOnlyList<object?> parameters, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Post, $"d1/{binding}/query", new { sql, @params = parameters }, "D1 query", cancellationToken);

    public Task<JsonElement> BatchAsync(StackControl control, string binding, IReadOnlyList<(string Sql, IReadOnlyList<object?> Params)> statements, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Post, $"d1/{binding}/batch", new { statements = Statements(statements) }, "D1 batch", cancellationToken);

    /// <summary>
    /// SQL of one statement (with parameters) or several (as one batch), split by the stack
    /// (sql-statements.mjs): an array of results; with raw, each result's rows as arrays under its
    /// column names, as D1's raw query answers.
    /// </summary>
    public Task<JsonElement> RunSqlAsync(StackControl control, string binding, string sql, IReadOnlyList<object?> parameters, bool raw, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Post, $"d1/{binding}/sql", new { sql, @params = parameters, raw }, "D1 query", cancellationToken);

    /// <summary>The database as SQL statements (Miniflare's D1 export): its schema, its rows or both, of every table or some.</summary>
    public Task<JsonElement> ExportSqlAsync(StackControl control, string binding, bool noSchema, bool noData, IReadOnlyList<string> tables, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Post, $"d1/{binding}/export", new { noSchema, noData, tables }, "D1 export", cancellationToken);

    public Task<JsonElement> SessionAsync(StackControl control, string binding, string? bookmark, IReadOnlyList<(string Sql, IReadOnlyList<object?> Params)> statements, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Post, $"d1/{binding}/session", new { bookmark, statements = Statements(statements) }, "D1 session", cancellationToken);

    /// <summary>Read replication status, or (with settings) new settings.</summary>
    public Task<JsonElement> ReplicationAsync(StackControl control, string binding, object? settings, CancellationToken cancellationToken) =>
        settings is null
            ? SendAsync(control, HttpMethod.Get, $"d1/{binding}/replication", null, "D1 replication", cancellationToken)
            : SendAsync(control, HttpMethod.Put, $"d1/{binding}/replication", settings, "D1 replication", cancellationToken);

    /// <summary>Replaces what the stack's bindings and fetch handler hold of the chaos API's settings.</summary>
    public Task<JsonElement> SetFaultsAsync(StackControl control, StackFaults faults, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Put, "faults", faults, "fault rules", cancellationToken);

    /// <summary>What the stack's bindings and fetch handler hold of the chaos API's settings.</summary>
    public Task<JsonElement> FaultsAsync(StackControl control, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Get, "faults", null, "fault rules", cancellationToken);

    /// <summary>What the stack's Worker has used since it started (requests, per-invocation peaks, each binding's calls).</summary>
    /// <summary>With <paramref name="resetPeaks"/>, the per-invocation peaks start again afterwards (counters go on).</summary>
    public async Task<StackUsage> UsageAsync(StackControl control, bool resetPeaks, CancellationToken cancellationToken) =>
        (await SendAsync(control, resetPeaks ? HttpMethod.Delete : HttpMethod.Get, resetPeaks ? "usage/peaks" : "usage", null, "usage", cancellationToken))
            .Deserialize<StackUsage>(HostJson.Options) ?? throw new RuntimeHostException("usage: the control entrypoint answered null");

    /// <summary>Whether the stack's isolate records its invocations now (<c>{ "recording": … }</c>).</summary>
    public Task<JsonElement> TelemetryAsync(StackControl control, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Get, "telemetry", null, "telemetry recording", cancellationToken);

    public Task<JsonElement> KvEntriesAsync(StackControl control, string binding, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Get, $"kv/{binding}/entries", null, "KV listing", cancellationToken);

    public Task<JsonElement> ListR2Async(StackControl control, string binding, string? prefix, CancellationToken cancellationToken) =>
        SendAsync(control, HttpMethod.Get, $"r2/{binding}/list" + (prefix is null ? "" : "?prefix=" + Uri.EscapeDataString(prefix)), null, "R2 list", cancellationToken);

    /// <summary>
    /// A request whose answer the caller reads (bytes, not JSON). Errors are the caller's to read too,
    /// except that no answer, or another stack's, is a <see cref="ControlEntrypointUnreachableException"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(StackControl control, HttpMethod method, string pathAndQuery, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(control.Url, pathAndQuery)) { Content = content };
        request.Headers.Authorization = new("Bearer", control.Secret);
        var response = await SendOnceAsync(request, "storage request", cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            response.Dispose();
            throw new ControlEntrypointUnreachableException("storage request", "the entrypoint there belongs to another stack", nothingRan: true);
        }
        return response;
    }

    private static object[] Statements(IReadOnlyList<(string Sql, IReadOnlyList<object?> Params)> statements) =>
        [.. statements.Select(s => new { sql = s.Sql, @params = s.Params })];

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ControlEntrypointUnreachableException(what, ex.Message, nothingRan: ex.HttpRequestError == HttpRequestError.ConnectionError, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RuntimeHostException($"{what}: the stack did not answer within {http.Timeout.TotalSeconds:0} s ({ex.Message})");
        }
    }

    /// <summary>The entrypoint's JSON answer; an answer of 400 or more is a <see cref="RuntimeHostException"/> naming what failed.</summary>
    private async Task<JsonElement> SendAsync(StackControl control, HttpMethod method, string path, object? body, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(control.Url, path));
        request.Headers.Authorization = new("Bearer", control.Secret);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: HostJson.Options);
        }
        using var response = await SendOnceAsync(request, what, cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            // Another stack's entrypoint now listens where this one did (a restart moved it): not ours.
            throw new ControlEntrypointUnreachableException(what, "the entrypoint there belongs to another stack", nothingRan: true);
        }
        JsonElement answer;
        try
        {
            answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        }
        catch (JsonException)
        {
            throw new RuntimeHostException($"{what}: the control entrypoint answered {(int)response.StatusCode} without JSON");
        }
        if ((int)response.StatusCode >= 400)
        {
            var error = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("error", out var e) ? e.GetString() : answer.ToString();
            throw new RuntimeHostException($"{what} failed: {error}");
        }
        return answer;
    }
}

/// <summary>
/// A call that did not get its answer from the stack's control entrypoint: nothing listens there,
/// another stack's entrypoint does, or the connection broke. Only when nothing ran is it safe to
/// send again (a broken connection may have run a write).
/// </summary>
public sealed class ControlEntrypointUnreachableException(string what, string reason, bool nothingRan, Exception? inner = null)
    : RuntimeHostException($"{what}: the stack's control entrypoint did not answer ({reason})", inner)
{
    public bool NothingRan { get; } = nothingRan;
}
