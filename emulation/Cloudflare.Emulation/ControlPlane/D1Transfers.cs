using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The files of D1 exports and imports, at the unguessable URLs the API hands out in their place of
/// Cloudflare's presigned R2 URLs: an export's SQL to download, an import's SQL to upload. Like a
/// presigned URL, the URL is the permission (no API token), and it lapses after an hour.
/// </summary>
public sealed class D1Transfers(string stateRoot)
{
    public const string BasePath = "/cdn-cgi/local/d1/transfers";

    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private readonly string _folder = Path.Combine(stateRoot, "control-plane", "d1-transfers");

    /// <summary>Keeps an export's SQL; returns the name its URL ends with.</summary>
    public async Task<string> KeepExportAsync(string sql, CancellationToken cancellationToken)
    {
        var name = NewName();
        Directory.CreateDirectory(_folder);
        await File.WriteAllTextAsync(PathOf(name), sql, cancellationToken);
        return name;
    }

    /// <summary>A name an import may be uploaded to.</summary>
    public static string NewName() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)) + ".sql";

    /// <summary>An uploaded import's SQL, or null when nothing (or nothing within the hour) was uploaded there.</summary>
    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken) =>
        IsName(name) && File.Exists(PathOf(name)) && File.GetLastWriteTimeUtc(PathOf(name)) > DateTime.UtcNow - Lifetime
            ? await File.ReadAllTextAsync(PathOf(name), cancellationToken)
            : null;

    public void Forget(string name)
    {
        if (IsName(name))
        {
            File.Delete(PathOf(name));
        }
    }

    public Uri UrlOf(HttpRequest request, string name) => new($"{request.Scheme}://{request.Host}{BasePath}/{name}");

    /// <summary>GET downloads an export; PUT uploads an import and answers its MD5 as the ETag, as R2 does.</summary>
    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(BasePath + "/{name}", async (string name, HttpContext context) =>
        {
            Prune();
            if (await ReadAsync(name, context.RequestAborted) is not { } sql)
            {
                return Results.NotFound();
            }
            return Results.Text(sql, "application/sql");
        });
        app.MapPut(BasePath + "/{name}", async (string name, HttpContext context) =>
        {
            if (!IsName(name))
            {
                return Results.NotFound();
            }
            Directory.CreateDirectory(_folder);
            await using (var file = File.Create(PathOf(name)))
            {
                await context.Request.Body.CopyToAsync(file, context.RequestAborted);
            }
            await using var written = File.OpenRead(PathOf(name));
            context.Response.Headers.ETag = $"\"{Convert.ToHexStringLower(await MD5.HashDataAsync(written, context.RequestAborted))}\"";
            return Results.Ok();
        });
    }

    private static bool IsName(string name) => name.Length == 52 && name.EndsWith(".sql", StringComparison.Ordinal) && name[..48].All(char.IsAsciiHexDigitLower);

    private string PathOf(string name) => Path.Combine(_folder, name);

    /// <summary>Removes transfers older than their hour.</summary>
    private void Prune()
    {
        if (!Directory.Exists(_folder))
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(_folder).Where(f => File.GetLastWriteTimeUtc(f) < DateTime.UtcNow - Lifetime))
        {
            File.Delete(file);
        }
    }
}
