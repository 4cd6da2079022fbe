using Cloudflare.Emulation.Residency;
using Cloudflare.Emulation.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The emulator's residency routes (not Cloudflare's API): the audit of every stack against the
/// residency policy, and the egress guard's log of what each Worker tried to reach.
/// </summary>
internal static class ResidencyEndpoints
{
    public static void Map(IEndpointRouteBuilder app, StackSupervisor supervisor, ResidencyAuditor auditor, string stateRoot)
    {
        app.MapGet("/__emulator/residency", async (CancellationToken ct) =>
        {
            var report = await auditor.AuditAsync(ct);
            report.WriteJson(ResidencyReport.PathUnder(stateRoot));
            return Api.Ok(report);
        }).WithName("emulator.residency");
        app.MapGet("/__emulator/egress", async (string? stack, CancellationToken ct) =>
        {
            if (stack is not null && supervisor.Find(stack) is null)
            {
                return Api.NotFound($"stack {stack}");
            }
            return Api.Ok(await supervisor.EgressAsync(stack, ct));
        }).WithName("emulator.egress");
    }
}
