using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The files of D1 exports and imports, at the unguessable URLs the API hands out in place of
/// Cloudflare's presigned R2 URLs: an export's SQL to download, an import's SQL to upload. Like a
/// presigned URL, the URL is the permission (no API token): only a name the API issued answers, for
/// what it was issued (download an export, upload an import to one database), for an hour. Names
/// live in memory, so a restart of the harness ends every transfer (and removes its files).
/// </summary>
public sealed class D1Transfers
{
    public const string BasePath = "/cdn-cgi/local/d1/transfers";

    /// <summary>The largest import file taken (D1's own limit for an import is larger; this keeps a local disk safe).</summary>
    public const long MaxImportBytes = 512L * 1024 * 1024;

    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private readonly string _folder;
    private readonly ConcurrentDictionary<string, Transfer> _issued = new(StringComparer.Ordinal);

    private sealed record Transfer(bool IsExport, string DatabaseId, DateTimeOffset Expires);

    public D1Transfers(string stateRoot)
    {
        _folder = Path.Combine(stateRoot, "control-plane", "d1-transfers");
        // Names from before a restart are gone, and with them any way to reach these files.
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Keeps an export's SQL; returns the name its URL ends with.</summary>
    public async Task<string> KeepExportAsync(string databaseId, string sql, CancellationToken cancellationToken)
    {
        var name = Issue(isExport: true, databaseId);
        await File.WriteAllTextAsync(PathOf(name), sql, cancellationToken);
        return name;
    }

    /// <summary>A name an import into the database may be uploaded to.</summary>
    public string IssueImport(string databaseId) => Issue(isExport: false, databaseId);

    /// <summary>An import's uploaded SQL, or null when the name was not issued for this database, has lapsed, or nothing was uploaded.</summary>
    public async Task<string?> ReadImportAsync(string name, string databaseId, CancellationToken cancellationToken) =>
        Valid(name) is { IsExport: false } transfer && transfer.DatabaseId == databaseId && File.Exists(PathOf(name))
            ? await File.ReadAllTextAsync(PathOf(name), cancellationToken)
            : null;

    /// <summary>Ends a transfer and removes its file.</summary>
    public void Forget(string name)
    {
        if (_issued.TryRemove(name, out _))
        {
            File.Delete(PathOf(name));
        }
    }

    public Uri UrlOf(HttpRequest request, string name) => new($"{request.Scheme}://{request.Host}{BasePath}/{name}");

    /// <summary>GET downloads an export; PUT uploads an import and answers its MD5 as the ETag, as R2 does.</summary>
    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(BasePath + "/{name}", (string name) =>
            Valid(name) is { IsExport: true } && File.Exists(PathOf(name))
                ? Results.File(PathOf(name), "application/sql")
                : Results.NotFound());
        app.MapPut(BasePath + "/{name}", async (string name, HttpContext context) =>
        {
            if (Valid(name) is not { IsExport: false })
            {
                return Results.NotFound();
            }
            if (context.Request.ContentLength > MaxImportBytes)
            {
                return Results.Text($"An import may be at most {MaxImportBytes / (1024 * 1024)} MiB.", statusCode: StatusCodes.Status413PayloadTooLarge);
            }
            await using (var file = File.Create(PathOf(name)))
            {
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    if ((total += read) > MaxImportBytes)
                    {
                        break;
                    }
                    await file.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                }
                if (total > MaxImportBytes)
                {
                    file.Close();
                    File.Delete(PathOf(name));
                    return Results.Text($"An import may be at most {MaxImportBytes / (1024 * 1024)} MiB.", statusCode: StatusCodes.Status413PayloadTooLarge);
                }
            }
            await using var written = File.OpenRead(PathOf(name));
            // R2's ETag of a single-part upload is the MD5 of its bytes; wrangler checks the file against it.
#pragma warning disable CA5351
            context.Response.Headers.ETag = $"\"{Convert.ToHexStringLower(await MD5.HashDataAsync(written, context.RequestAborted))}\"";
#pragma warning restore CA5351
            return Results.Ok();
        });
    }

    private string Issue(bool isExport, string databaseId)
    {
        Prune();
        Directory.CreateDirectory(_folder);
        var name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)) + ".sql";
        _issued[name] = new Transfer(isExport, databaseId, DateTimeOffset.UtcNow + Lifetime);
        return name;
    }

    /// <summary>The transfer a name was issued for, while it lasts.</summary>
    private Transfer? Valid(string name)
    {
        Prune();
        return _issued.TryGetValue(name, out var transfer) ? transfer : null;
    }

    private string PathOf(string name) => Path.Combine(_folder, Path.GetFileName(name));

    /// <summary>Ends transfers past their hour.</summary>
    private void Prune()
    {
        foreach (var (name, transfer) in _issued)
        {
            if (transfer.Expires < DateTimeOffset.UtcNow)
            {
                Forget(name);
            }
        }
    }
}
