using Cloudflare.Emulation.Supervision;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Cloudflare.Emulation.Hosting;

/// <summary>A stack is healthy when it is running, ready (an account: provisioned) and its Worker answers GET /healthz.</summary>
internal sealed class StackHealthCheck(StackSupervisor supervisor, string stackName, Func<bool>? ready = null) : IHealthCheck
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = supervisor.Find(stackName);
        if (status is not { State: StackState.Running, Url: not null })
        {
            return HealthCheckResult.Unhealthy($"stack is {status?.State.ToString() ?? "unknown"}{(status?.LastError is { } e ? ": " + e : "")}");
        }
        if (ready is not null && !ready())
        {
            return HealthCheckResult.Unhealthy("not ready yet (an account: being provisioned; the platform: publishing its release)");
        }
        try
        {
            using var response = await Http.GetAsync(new Uri(new Uri(status.Url), "/healthz"), cancellationToken);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"GET /healthz answered {(int)response.StatusCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"GET /healthz failed: {ex.Message}");
        }
    }
}
