using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.Snapshots;

/// <summary>
/// <c>/__emulator/snapshots</c> on the local Cloudflare API (its token required): GET lists them,
/// POST <c>{"name": "…"}</c> takes one (a name made of the time when none is given), GET/DELETE
/// <c>/&lt;name&gt;</c> reads or deletes one, POST <c>/&lt;name&gt;/restore</c> puts the state back as it was.
/// </summary>
internal static class SnapshotEndpoints
{
    public const string Path = "/__emulator/snapshots";

    public static void Map(IEndpointRouteBuilder app, StateSnapshots snapshots)
    {
        app.MapGet(Path, () => Api.Ok(snapshots.List()));
        app.MapPost(Path, async (HttpRequest request, CancellationToken ct) =>
        {
            string? name = null;
            if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
            {
                if (await ResourceEndpoints.ReadJsonAsync(request) is not { ValueKind: JsonValueKind.Object } body)
                {
                    return Api.Invalid("body: a JSON object, e.g. {\"name\": \"before-upgrade\"}");
                }
                if (body.TryGetProperty("name", out var given))
                {
                    name = given.Text() ?? "";
                }
            }
            name ??= $"snapshot-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}";
            return await AnswerAsync(async () => await snapshots.SaveAsync(name, ct));
        });
        app.MapGet(Path + "/{name}", (string name) => AnswerAsync(() => Task.FromResult<object>(snapshots.Get(name))));
        app.MapDelete(Path + "/{name}", (string name, CancellationToken ct) => AnswerAsync(async () =>
        {
            await snapshots.DeleteAsync(name, ct);
            return new { name, deleted = true };
        }));
        app.MapPost(Path + "/{name}/restore", (string name, CancellationToken ct) => AnswerAsync(async () => await snapshots.RestoreAsync(name, ct)));
    }

    private static async Task<IResult> AnswerAsync(Func<Task<object>> run)
    {
        try
        {
            return Api.Ok(await run());
        }
        catch (SnapshotException ex)
        {
            return Api.Error(ex.Status, ex.Code, ex.Message);
        }
        catch (IOException ex)
        {
            return Api.Error(StatusCodes.Status500InternalServerError, Api.BadRequest, $"the state folder could not be copied: {ex.Message}");
        }
        catch (Exception ex) when (ex is Runtime.RuntimeHostException or InvalidOperationException)
        {
            // A stack that changed under the snapshot (its workerd gone between listing and stopping it, say).
            return Api.Error(StatusCodes.Status409Conflict, Api.NotServing, $"a stack changed while the snapshot ran ({ex.Message}); try again");
        }
    }
}
