using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;

namespace Cloudflare.Emulation.Benchmarks;

/// <summary>
/// Steady, authenticated traffic on existing tenants while a benchmark changes something else. An
/// open model: requests are sent on a fixed schedule (<see cref="RatePerSecond"/>, round-robin over
/// the targets) whether or not earlier ones have been answered, and each one's latency is counted
/// from when it was due — so a server that slows down is not sent less (no coordinated omission),
/// and a request sent late counts its wait. Every request's outcome is kept: an error is a non-2xx,
/// no answer, or no answer within the timeout.
/// </summary>
internal sealed class SteadyLoad : IAsyncDisposable
{
    /// <summary>One request: when it was due (since the load began), how long until its answer, and whether it succeeded.</summary>
    public readonly record struct Sample(TimeSpan Due, double LatencyMs, bool Ok);

    /// <summary>The requests due in one window: how many, how many failed, and their latency percentiles (ms).</summary>
    public sealed record Window(int Requests, int Errors, double P50, double P95, double P99, double Max, double Seconds)
    {
        public double RatePerSecond => Seconds > 0 ? Requests / Seconds : 0;
    }

    private readonly HttpClient _http;
    private readonly IReadOnlyList<(Uri Url, string Token)> _targets;
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<Sample> _samples = new();
    private readonly ConcurrentDictionary<long, Task> _inFlight = new();
    private readonly Task _scheduler;

    public SteadyLoad(HttpClient http, IReadOnlyList<(Uri Url, string Token)> targets, double ratePerSecond, TimeSpan? timeout = null)
    {
        _http = http;
        _targets = targets;
        _timeout = timeout ?? TimeSpan.FromSeconds(10);
        RatePerSecond = ratePerSecond;
        _scheduler = Task.Run(ScheduleAsync);
    }

    public double RatePerSecond { get; }

    /// <summary>Time since the load began: marks for <see cref="Between"/>.</summary>
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>The requests that were due between two marks (answered ones only: call after they have been, or after disposing).</summary>
    public Window Between(TimeSpan from, TimeSpan to)
    {
        var window = _samples.Where(s => s.Due >= from && s.Due < to).ToList();
        var latencies = window.Select(s => s.LatencyMs).Order().ToList();
        double At(double p) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p / 100 * latencies.Count) - 1)];
        return new Window(window.Count, window.Count(s => !s.Ok), At(50), At(95), At(99), latencies.Count == 0 ? 0 : latencies[^1], (to - from).TotalSeconds);
    }

    private async Task ScheduleAsync()
    {
        for (long i = 0; !_stop.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds(i / RatePerSecond);
            var wait = due - _clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            var n = i;
            _inFlight[n] = SendAsync(_targets[(int)(n % _targets.Count)], due).ContinueWith(_ => _inFlight.TryRemove(n, out var _), TaskScheduler.Default);
        }
    }

    private async Task SendAsync((Uri Url, string Token) target, TimeSpan due)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, target.Url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.Token);
        using var timeout = new CancellationTokenSource(_timeout);
        var ok = false;
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token);
            await response.Content.ReadAsByteArrayAsync(timeout.Token);
            ok = response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            // No answer, or none in time: an error.
        }
        _samples.Enqueue(new Sample(due, (_clock.Elapsed - due).TotalMilliseconds, ok));
    }

    /// <summary>Stops sending and waits for the answers still due.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _scheduler;
        await Task.WhenAll(_inFlight.Values);
        _stop.Dispose();
    }
}
