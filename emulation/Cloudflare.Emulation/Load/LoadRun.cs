using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Cloudflare.Emulation.Load;

/// <summary>
/// One request of a load run: its kind, when it was due (seconds in), how long from then until its
/// answer, its status (0: none), and for a failure what the answer said (or why there was none).
/// </summary>
public sealed record LoadSample(string Operation, double DueSeconds, double Milliseconds, int Status, string? Failure = null)
{
    /// <summary>A failure a user would see: a server error, a rate limit, or no answer.</summary>
    public bool Failed => Status is 0 or 429 or >= 500;
}

/// <summary>A virtual user: its own token (a user of the account), its own D1 bookmark, what it has created.</summary>
public sealed class LoadUser(string token)
{
    public string Token { get; } = token;

    public string? Bookmark { get; set; }

    public ConcurrentQueue<string> Clients { get; } = new();

    public ConcurrentQueue<string> Documents { get; } = new();
}

/// <summary>
/// Virtual users through the platform to one account, loopback only and bounded in time, in an open
/// model: each user's requests are due at exponentially distributed intervals around the mean think
/// time and are sent when due whether or not the user's earlier ones were answered, and each one's
/// latency counts from when it was due — a slow system is not sent less (no coordinated omission).
/// The mix is an adviser's day: mostly listing and filtering clients, opening one with its cases,
/// looking one up by email, creating clients (each read straight back with the user's bookmark:
/// read-your-writes), uploading documents (100 KB – 5 MB, mostly small) and downloading them.
/// </summary>
public sealed class LoadRun(HttpClient http, Uri platform, string account, TimeSpan think)
{
    private const string BookmarkHeader = "x-d1-bookmark";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentQueue<LoadSample> _samples = new();
    private readonly Stopwatch _clock = new();
    private int _readYourWritesViolations;
    private long _sent;

    public IReadOnlyCollection<LoadSample> Samples => _samples;

    /// <summary>
    /// The users, each signed in once: made users of the account by its owner (staff, a few at a
    /// time), each with its own token from the platform's key.
    /// </summary>
    public static async Task<IReadOnlyList<LoadUser>> SignInAsync(HttpClient http, Uri platform, Uri accountWorker, string account,
        Platform.TokenIssuer tokens, int count, CancellationToken cancellationToken)
    {
        var ownerId = await new Platform.AccountOwnerBootstrap(http, tokens).EnsureOwnerAsync(accountWorker, account, cancellationToken);
        var owner = tokens.Issue(account, ownerId, TimeSpan.FromHours(2));
        var users = new LoadUser[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(platform, $"/accounts/{account}/api/users"))
            {
                Content = JsonContent.Create(new { email = $"load-user-{i}-{Guid.NewGuid():N}@{account}.example.com", name = $"Load user {i}", role = "staff" }),
            };
            request.Headers.Authorization = new("Bearer", owner);
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            if (!response.IsSuccessStatusCode || body.GetProperty("id").GetString() is not { } id)
            {
                throw new InvalidOperationException($"user {i} could not be made: {(int)response.StatusCode} {body}");
            }
            users[i] = new LoadUser(tokens.Issue(account, id, TimeSpan.FromHours(2)));
        });
        return users;
    }

    public int ReadYourWritesViolations => _readYourWritesViolations;

    /// <summary>Sends the users' requests as they fall due for <paramref name="duration"/>, then waits (bounded) for those in flight.</summary>
    public async Task RunAsync(IReadOnlyList<LoadUser> users, TimeSpan duration, CancellationToken cancellationToken)
    {
        var random = new Random(20261201);
        var due = new PriorityQueue<(LoadUser User, int Index), double>();
        for (var i = 0; i < users.Count; i++)
        {
            due.Enqueue((users[i], i), random.NextDouble() * think.TotalSeconds);
        }
        var inFlight = new ConcurrentDictionary<long, Task>();
        _clock.Start();
        while (!cancellationToken.IsCancellationRequested && due.TryPeek(out _, out var next) && next < duration.TotalSeconds)
        {
            var wait = next - _clock.Elapsed.TotalSeconds;
            if (wait > 0.001)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(wait, 0.05)), cancellationToken);
                continue;
            }
            var (user, index) = due.Dequeue();
            var id = Interlocked.Increment(ref _sent);
            var roll = random.NextDouble();
            var size = (int)Math.Exp(Math.Log(100 * 1024) + (random.NextDouble() * Math.Log(50)));
            var task = ActAsync(user, roll, size, next);
            inFlight[id] = task;
            _ = task.ContinueWith(_ => inFlight.TryRemove(id, out Task? _), TaskScheduler.Default);
            due.Enqueue((user, index), next + (-Math.Log(1 - random.NextDouble()) * think.TotalSeconds));
        }
        await Task.WhenAll(inFlight.Values).WaitAsync(Timeout + Timeout, CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>One action of the mix, due at <paramref name="dueSeconds"/>.</summary>
    private async Task ActAsync(LoadUser user, double roll, int uploadBytes, double dueSeconds)
    {
        if (roll < 0.55)
        {
            await SendAsync(user, "list", HttpMethod.Get, "/api/clients?status=active&sort=name&limit=20", null, dueSeconds);
        }
        else if (roll < 0.70 && user.Clients.TryPeek(out var clientId))
        {
            await SendAsync(user, "open", HttpMethod.Get, $"/api/clients/{clientId}", null, dueSeconds);
            await SendAsync(user, "open-cases", HttpMethod.Get, $"/api/cases?clientId={clientId}&limit=20", null, dueSeconds);
        }
        else if (roll < 0.80)
        {
            await SendAsync(user, "search", HttpMethod.Get, $"/api/clients?email=load-{(int)(roll * 1000)}%40example.com", null, dueSeconds);
        }
        else if (roll < 0.95)
        {
            var (status, body) = await SendAsync(user, "create", HttpMethod.Post, "/api/clients",
                JsonContent.Create(new { name = $"Load client {Guid.NewGuid():N}"[..24], email = $"load-{(int)(roll * 1000)}@example.com" }), dueSeconds);
            if (status == (int)HttpStatusCode.Created && body?.GetProperty("id").GetString() is { } id)
            {
                user.Clients.Enqueue(id);
                // Read-your-writes: the user's next read, with its bookmark, must see its write.
                var (read, _) = await SendAsync(user, "read-own", HttpMethod.Get, $"/api/clients/{id}", null, _clock.Elapsed.TotalSeconds);
                if (read == (int)HttpStatusCode.NotFound)
                {
                    Interlocked.Increment(ref _readYourWritesViolations);
                }
            }
        }
        else if (roll < 0.98 && user.Clients.TryPeek(out var owner))
        {
            var content = new ByteArrayContent(new byte[uploadBytes]);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            var (status, body) = await SendAsync(user, "upload", HttpMethod.Post, $"/api/documents?name=load.bin&clientId={owner}", content, dueSeconds);
            if (status == (int)HttpStatusCode.Created && body?.GetProperty("id").GetString() is { } document)
            {
                user.Documents.Enqueue(document);
            }
        }
        else if (user.Documents.TryPeek(out var document))
        {
            await SendAsync(user, "download", HttpMethod.Get, $"/api/documents/{document}/content", null, dueSeconds);
        }
        else
        {
            await SendAsync(user, "list", HttpMethod.Get, "/api/clients?status=active&sort=name&limit=20", null, dueSeconds);
        }
    }

    private async Task<(int Status, JsonElement? Body)> SendAsync(LoadUser user, string operation, HttpMethod method, string path, HttpContent? content, double dueSeconds)
    {
        using var request = new HttpRequestMessage(method, new Uri(platform, $"/accounts/{account}{path}")) { Content = content };
        request.Headers.Authorization = new("Bearer", user.Token);
        if (user.Bookmark is { } bookmark)
        {
            request.Headers.TryAddWithoutValidation(BookmarkHeader, bookmark);
        }
        using var timeout = new CancellationTokenSource(Timeout);
        var status = 0;
        JsonElement? body = null;
        string? failure = null;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (int)response.StatusCode;
            if (response.Headers.TryGetValues(BookmarkHeader, out var marks) && marks.FirstOrDefault() is { } mark)
            {
                // Bookmarks only move forward; answers may arrive out of order.
                lock (user)
                {
                    user.Bookmark = user.Bookmark is null || string.CompareOrdinal(mark, user.Bookmark) > 0 ? mark : user.Bookmark;
                }
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (status is 429 or >= 500)
            {
                failure = System.Text.Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 300));
            }
            if (response.Content.Headers.ContentType?.MediaType == "application/json" && bytes.Length > 0)
            {
                body = JsonDocument.Parse(bytes).RootElement.Clone();
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException or IOException)
        {
            // No answer in time, the connection failed, or the body did not arrive whole.
            failure = ex.Message;
        }
        _samples.Enqueue(new LoadSample(operation, dueSeconds, (_clock.Elapsed.TotalSeconds - dueSeconds) * 1000, status, failure));
        return (status, body);
    }
}
