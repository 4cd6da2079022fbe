using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Cloudflare.Emulation.Residency;

/// <summary>
/// The harness run once as a residency check (`dotnet run --project AppHost -- --residency-report true`),
/// e.g. in CI: start every stack, wait until all are healthy, audit them, print the table, write the
/// JSON, stop. Exit code 0 when compliant, 1 on a violation (or when the stacks never became healthy).
/// </summary>
public static class ResidencyCheck
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(DistributedApplication app, HarnessOptions options, TextWriter output)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        await app.StartAsync(timeout.Token);
        try
        {
            var notifications = app.Services.GetRequiredService<ResourceNotificationService>();
            var stacks = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<WorkerStackResource>().ToList();
            output.WriteLine($"Residency check: waiting for {stacks.Count} stacks to be healthy…");
            try
            {
                await Task.WhenAll(stacks.Select(s => notifications.WaitForResourceHealthyAsync(s.Name, timeout.Token)));
            }
            catch (OperationCanceledException)
            {
                output.WriteLine($"Residency check failed: the stacks were not all healthy within {StartTimeout.TotalMinutes:0} minutes.");
                return 1;
            }
            var report = await app.Services.GetRequiredService<ControlPlaneHandle>().Server!.Residency.AuditAsync(CancellationToken.None);
            report.WriteJson(options.ResidencyReportPath!);
            output.Write(report.ToTable());
            output.WriteLine($"JSON: {options.ResidencyReportPath}");
            return report.Compliant ? 0 : 1;
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
