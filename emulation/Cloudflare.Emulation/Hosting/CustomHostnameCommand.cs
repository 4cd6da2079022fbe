using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.ControlPlane;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Hosting;

/// <summary>
/// The emulator row's "Verify custom hostname…": a pending custom hostname's records taken as
/// published, so it becomes active — the same as POST /__emulator/zones/&lt;zone&gt;/custom_hostnames/&lt;id&gt;/verify.
/// </summary>
internal sealed class CustomHostnameCommand(HarnessRun run, ControlPlaneHandle controlPlane, IInteractionService interactions, ResourceLoggerService loggers)
{
    public async Task<ExecuteCommandResult> RunAsync(CancellationToken cancellationToken)
    {
        if (controlPlane.Server?.Store is not { } store || run.Emulator is not { } emulator)
        {
            return CommandResults.Failure("The emulator is not running yet.");
        }
        var pending = store.Snapshot.AllCustomHostnames.Where(h => !h.Active).OrderBy(h => h.Hostname, StringComparer.Ordinal).ToList();
        if (pending.Count == 0)
        {
            return CommandResults.Failure("No custom hostname is pending: add a tenant's domain first (POST /admin/accounts/<slug>/domains).");
        }
        if (!interactions.IsAvailable)
        {
            return CommandResults.Failure("No dashboard to ask in: use POST /__emulator/zones/<zone>/custom_hostnames/<id>/verify.");
        }
        var answer = await interactions.PromptInputAsync("Verify custom hostname",
            "Takes the hostname's ownership and certificate validation records as published (no DNS is checked locally): it becomes active.",
            new InteractionInput
            {
                Name = "id",
                Label = "Custom hostname",
                InputType = InputType.Choice,
                Required = true,
                Options = [.. pending.Select(h => KeyValuePair.Create(h.Id, h.Hostname))],
            },
            cancellationToken: cancellationToken);
        if (answer.Canceled || answer.Data.Value is not { } id)
        {
            return CommandResults.Canceled();
        }
        if (CustomHostnameEndpoints.Verify(store, id) is not { } verified)
        {
            return CommandResults.Failure($"custom hostname {id} is gone");
        }
        var message = $"Custom hostname {verified.Hostname} is active: requests with that Host reach its tenant.";
        loggers.GetLogger(emulator).LogInformation("{Message}", message);
        return CommandResults.Success(message);
    }
}
