using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Cloudflare.Emulation.Scenarios;

/// <summary>One request a virtual user sent: when (seconds into the run), how long, and its status (0: no answer).</summary>
public sealed record ScenarioSample(string Account, string Operation, double StartSeconds, double Milliseconds, int Status)
{
    /// <summary>What counts as a failure users see: a server error, a rate limit, or no answer.</summary>
    public bool Failed => Status is 0 or 429 or >= 500;
}

/// <summary>A client a user created and the platform acknowledged (201).</summary>
public sealed record AcknowledgedWrite(string Account, string Id, string User, double StartSeconds);

/// <summary>A user of one account, signed in with its own token: the owner, or the scenario's admin (who can be demoted).</summary>
public sealed record ScenarioUser(string Account, string Name, string Token, string? UserId = null);

/// <summary>
/// Virtual users through the platform, loopback only and bounded in time: each keeps its own D1
/// bookmark and mostly lists clients; creates one now and then and reads it straight back with its
/// bookmark (read-your-writes); uploads a document when the traffic says so. Everything each request
/// did is recorded for the report.
/// </summary>
public sealed class ScenarioTrafficRun(HttpClient http, Uri platform, ScenarioTraffic traffic, Stopwatch clock)
{
    private const string BookmarkHeader = "x-d1-bookmark";
    public ConcurrentQueue<ScenarioSample> Samples { get; } = new();
    public ConcurrentQueue<AcknowledgedWrite> Acknowledged { get; } = new();
    private int _readYourWritesViolations;

    public int ReadYourWritesViolations => _readYourWritesViolations;

    /// <summary>Runs every user until <paramref name="until"/>.</summary>
    public Task RunAsync(IReadOnlyList<ScenarioUser> users, CancellationToken until) =>
        Task.WhenAll(users.Select((user, i) => Task.Run(() => UserAsync(user, new Random(i * 7919 + 17), until), CancellationToken.None)));

    private async Task UserAsync(ScenarioUser user, Random random, CancellationToken until)
    {
        string? bookmark = null;
        var created = 0;
        var clientIds = new List<string>();
        while (!until.IsCancellationRequested)
        {
            var roll = random.NextDouble();
            if (roll < traffic.WriteShare)
            {
                var name = $"scenario {user.Name} {++created}";
                var (status, body, mark, started) = await SendAsync(user, "create", HttpMethod.Post, "/api/clients", JsonContent.Create(new { name }), bookmark);
                bookmark = mark ?? bookmark;
                if (status == (int)HttpStatusCode.Created && body?.GetProperty("id").GetString() is { } id)
                {
                    Acknowledged.Enqueue(new AcknowledgedWrite(user.Account, id, user.Name, started));
                    clientIds.Add(id);
                    // Read-your-writes: the user's next read, with its bookmark, must see it.
                    var (readStatus, _, readMark, _) = await SendAsync(user, "read-own", HttpMethod.Get, $"/api/clients/{id}", null, bookmark);
                    bookmark = readMark ?? bookmark;
                    if (readStatus == (int)HttpStatusCode.NotFound)
                    {
                        Interlocked.Increment(ref _readYourWritesViolations);
                    }
                }
            }
            else if (roll < traffic.WriteShare + traffic.UploadShare && clientIds.Count > 0)
            {
                var content = new ByteArrayContent(new byte[traffic.UploadBytes]);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
                var clientId = clientIds[random.Next(clientIds.Count)];
                var (_, _, mark, _) = await SendAsync(user, "upload", HttpMethod.Post, $"/api/documents?name=scenario-{created}.bin&clientId={clientId}", content, bookmark);
                bookmark = mark ?? bookmark;
            }
            else
            {
                var (_, _, mark, _) = await SendAsync(user, "list", HttpMethod.Get, "/api/clients?limit=20", null, bookmark);
                bookmark = mark ?? bookmark;
            }
            if (traffic.ThinkMs > 0)
            {
                try
                {
                    await Task.Delay(traffic.ThinkMs, until);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Sends one request, records it, and answers its status, JSON body (when one), bookmark and start.</summary>
    private async Task<(int Status, JsonElement? Body, string? Bookmark, double Started)> SendAsync(
        ScenarioUser user, string operation, HttpMethod method, string path, HttpContent? content, string? bookmark)
    {
        var started = clock.Elapsed.TotalSeconds;
        using var request = new HttpRequestMessage(method, new Uri(platform, $"/accounts/{user.Account}{path}")) { Content = content };
        request.Headers.Authorization = new("Bearer", user.Token);
        if (bookmark is not null)
        {
            request.Headers.TryAddWithoutValidation(BookmarkHeader, bookmark);
        }
        using var timeout = new CancellationTokenSource(traffic.TimeoutMs);
        var status = 0;
        JsonElement? body = null;
        string? mark = null;
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            status = (int)response.StatusCode;
            mark = response.Headers.TryGetValues(BookmarkHeader, out var values) ? values.FirstOrDefault() : null;
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            if (response.Content.Headers.ContentType?.MediaType == "application/json" && text.Length > 0)
            {
                body = JsonDocument.Parse(text).RootElement.Clone();
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException or IOException)
        {
            // No answer in time, or the connection failed (status stays 0), or the body did not arrive whole.
        }
        Samples.Enqueue(new ScenarioSample(user.Account, operation, started, (clock.Elapsed.TotalSeconds - started) * 1000, status));
        return (status, body, mark, started);
    }

    /// <summary>
    /// Reads back every acknowledged client from the primary (retrying a while: a target may still be
    /// coming back) and answers how many are gone.
    /// </summary>
    public async Task<int> LostWritesAsync(IReadOnlyDictionary<string, ScenarioUser> ownerOf, CancellationToken cancellationToken)
    {
        var lost = 0;
        foreach (var write in Acknowledged)
        {
            var found = false;
            for (var attempt = 0; attempt < 20 && !found; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(platform, $"/accounts/{write.Account}/api/clients/{write.Id}"));
                request.Headers.Authorization = new("Bearer", ownerOf[write.Account].Token);
                request.Headers.TryAddWithoutValidation(BookmarkHeader, "first-primary");
                try
                {
                    using var response = await http.SendAsync(request, cancellationToken);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        found = true;
                    }
                    else if (response.StatusCode == HttpStatusCode.NotFound)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not back yet: try again.
                }
                if (!found)
                {
                    await Task.Delay(250, cancellationToken);
                }
            }
            lost += found ? 0 : 1;
        }
        return lost;
    }
}
