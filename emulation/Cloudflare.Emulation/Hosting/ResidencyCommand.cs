using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Configuration;
using Cloudflare.Emulation.ControlPlane;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>The emulator row's residency audit: the table goes to its log, the JSON beside the state.</summary>
internal sealed class ResidencyCommand(HarnessRun run, ControlPlaneHandle controlPlane, HarnessOptions options, ResourceLoggerService loggers)
{
    public async Task<ExecuteCommandResult> RunAsync(CancellationToken cancellationToken)
    {
        if (controlPlane.Server is not { } server || run.Emulator is not { } emulator)
        {
            return CommandResults.Failure("The emulator is not running yet.");
        }
        try
        {
            var report = await server.Residency.AuditAsync(cancellationToken);
            var path = Residency.ResidencyReport.PathUnder(options.StateRoot);
            report.WriteJson(path);
            loggers.GetLogger(emulator).LogInformation("{Table}JSON: {Path}", report.ToTable(), path);
            return report.Compliant
                ? CommandResults.Success($"Compliant: {report.Stacks.Count} stacks audited, no violations (table in the log, JSON in {path}).")
                : CommandResults.Failure($"{report.Violations.Count} violation(s): {string.Join("; ", report.Violations.Take(3))}{(report.Violations.Count > 3 ? " …" : "")}");
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or KeyNotFoundException or IOException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }
}
