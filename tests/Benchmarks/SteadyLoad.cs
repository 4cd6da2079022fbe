using System.Diagnostics;
using System.Net.Http.Headers;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// Steady, authenticated traffic on existing tenants while a benchmark changes something else:
/// <see cref="Clients"/> clients, each sending one GET per interval, round-robin over the targets.
/// Counts requests and errors (non-2xx or no answer).
/// </summary>
internal sealed class SteadyLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task[] _clients;
    private long _requests;
    private long _errors;

    public SteadyLoad(HttpClient http, IReadOnlyList<(Uri Url, string Token)> targets, int clients, TimeSpan interval)
    {
        Clients = clients;
        _clients = [.. Enumerable.Range(0, clients).Select(worker => Task.Run(async () =>
        {
            var n = worker;
            using var tick = new PeriodicTimer(interval);
            while (await tick.WaitForNextTickAsync() && !_stop.IsCancellationRequested)
            {
                var (url, token) = targets[n++ % targets.Count];
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                try
                {
                    using var response = await http.SendAsync(request);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref _errors);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref _errors);
                }
                Interlocked.Increment(ref _requests);
            }
        }))];
    }

    public int Clients { get; }

    public long Requests => Interlocked.Read(ref _requests);

    public long Errors => Interlocked.Read(ref _errors);

    public double RatePerSecond => Requests / _clock.Elapsed.TotalSeconds;

    /// <summary>Stops the clients and waits for their last requests.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
        _stop.Dispose();
    }
}
