using System.Globalization;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// R2's ListMultipartUploads and ListParts, which Miniflare's S3 implementation answers 501. The request
/// goes to Miniflare first, which checks its signature before it looks at the operation: its 501 for one
/// of these means the caller may read the bucket. The answer is then read from the bucket's own
/// multipart records (Miniflare keeps them in the bucket's SQLite, read here read-only), in S3's shapes.
/// Miniflare records no time for an upload: a part's time is when its bytes were written, an upload's is
/// its first part's (or now, before it has one).
/// </summary>
internal static class S3MultipartListings
{
    private static readonly XNamespace S3 = "http://s3.amazonaws.com/doc/2006-03-01/";
    private const int InProgress = 0;
    private const int MaxPage = 1000;

    /// <summary>The operation Miniflare refused with 501 that this answers, or null.</summary>
    public static string? OperationOf(HttpRequest request, bool hasKey) =>
        request.Method != "GET" ? null
        : hasKey && request.Query.ContainsKey("uploadId") ? "ListParts"
        : !hasKey && request.Query.ContainsKey("uploads") ? "ListMultipartUploads"
        : null;

    public static async Task AnswerAsync(HttpContext context, string operation, string bucket, string? key, string bucketFolder)
    {
        using var records = Records.Open(bucketFolder);
        var query = context.Request.Query;
        if (operation == "ListParts")
        {
            var uploadId = query["uploadId"].ToString();
            if (!int.TryParse(query["part-number-marker"].FirstOrDefault() ?? "0", NumberStyles.None, CultureInfo.InvariantCulture, out var marker)
                || !int.TryParse(query["max-parts"].FirstOrDefault() ?? "1000", NumberStyles.None, CultureInfo.InvariantCulture, out var maxParts))
            {
                await ErrorAsync(context, 400, "InvalidArgument", "part-number-marker and max-parts must be non-negative integers.");
                return;
            }
            if (records?.Upload(uploadId) is not { } upload || upload.Key != key)
            {
                await ErrorAsync(context, 404, "NoSuchUpload", "The specified multipart upload does not exist.");
                return;
            }
            maxParts = Math.Clamp(maxParts, 0, MaxPage);
            var parts = records.Parts(uploadId).Where(p => p.Number > marker).ToList();
            var page = parts.Take(maxParts).ToList();
            var truncated = parts.Count > page.Count;
            await WriteAsync(context, new XElement(S3 + "ListPartsResult",
                new XElement(S3 + "Bucket", bucket), new XElement(S3 + "Key", key), new XElement(S3 + "UploadId", uploadId),
                new XElement(S3 + "PartNumberMarker", marker), new XElement(S3 + "NextPartNumberMarker", page.LastOrDefault()?.Number ?? marker),
                new XElement(S3 + "MaxParts", maxParts), new XElement(S3 + "IsTruncated", truncated ? "true" : "false"),
                new XElement(S3 + "StorageClass", "STANDARD"),
                page.Select(p => new XElement(S3 + "Part",
                    new XElement(S3 + "PartNumber", p.Number), new XElement(S3 + "LastModified", Timestamp(p.Written)),
                    new XElement(S3 + "ETag", $"\"{p.ETag}\""), new XElement(S3 + "Size", p.Size)))));
            return;
        }

        var prefix = query["prefix"].ToString();
        var delimiter = query["delimiter"].ToString();
        var keyMarker = query["key-marker"].ToString();
        var uploadIdMarker = query["upload-id-marker"].ToString();
        if (!int.TryParse(query["max-uploads"].FirstOrDefault() ?? "1000", NumberStyles.None, CultureInfo.InvariantCulture, out var maxUploads))
        {
            await ErrorAsync(context, 400, "InvalidArgument", "max-uploads must be a non-negative integer.");
            return;
        }
        maxUploads = Math.Clamp(maxUploads, 0, MaxPage);
        // In key then upload id order, after the markers; a delimiter folds keys into common prefixes.
        var entries = new List<(string Key, Upload? Upload, string? CommonPrefix)>();
        foreach (var upload in (records?.Uploads() ?? []).Where(u => u.Key.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var after = string.CompareOrdinal(upload.Key, keyMarker) > 0
                || (upload.Key == keyMarker && uploadIdMarker.Length > 0 && string.CompareOrdinal(upload.Id, uploadIdMarker) > 0);
            // A marker that is a common prefix (a page ended on one) stands for every key under it.
            var underFoldedMarker = delimiter.Length > 0 && keyMarker.EndsWith(delimiter, StringComparison.Ordinal) && upload.Key.StartsWith(keyMarker, StringComparison.Ordinal);
            if (keyMarker.Length > 0 && (!after || underFoldedMarker))
            {
                continue;
            }
            var cut = delimiter.Length > 0 ? upload.Key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) : -1;
            if (cut >= 0)
            {
                var common = upload.Key[..(cut + delimiter.Length)];
                if (entries.Count == 0 || entries[^1].CommonPrefix != common)
                {
                    entries.Add((common, null, common));
                }
                continue;
            }
            entries.Add((upload.Key, upload, null));
        }
        var shown = entries.Take(maxUploads).ToList();
        var last = shown.LastOrDefault();
        await WriteAsync(context, new XElement(S3 + "ListMultipartUploadsResult",
            new XElement(S3 + "Bucket", bucket), new XElement(S3 + "KeyMarker", keyMarker), new XElement(S3 + "UploadIdMarker", uploadIdMarker),
            new XElement(S3 + "NextKeyMarker", last.Key ?? ""), new XElement(S3 + "NextUploadIdMarker", last.Upload?.Id ?? ""),
            new XElement(S3 + "Prefix", prefix), delimiter.Length > 0 ? new XElement(S3 + "Delimiter", delimiter) : null,
            new XElement(S3 + "MaxUploads", maxUploads), new XElement(S3 + "IsTruncated", entries.Count > shown.Count ? "true" : "false"),
            shown.Where(e => e.Upload is not null).Select(e => new XElement(S3 + "Upload",
                new XElement(S3 + "Key", e.Upload!.Key), new XElement(S3 + "UploadId", e.Upload.Id),
                new XElement(S3 + "StorageClass", "STANDARD"),
                new XElement(S3 + "Initiated", Timestamp(records!.Parts(e.Upload.Id).Select(p => p.Written).DefaultIfEmpty(DateTime.UtcNow).Min())))),
            shown.Where(e => e.CommonPrefix is not null).Select(e => new XElement(S3 + "CommonPrefixes", new XElement(S3 + "Prefix", e.CommonPrefix)))));
    }

    private static string Timestamp(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static Task WriteAsync(HttpContext context, XElement body)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/xml";
        return context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body.ToString(SaveOptions.DisableFormatting));
    }

    private static Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/xml";
        var xml = new XElement("Error", new XElement("Code", code), new XElement("Message", message));
        return context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + xml);
    }

    private sealed record Upload(string Id, string Key);

    private sealed record Part(int Number, string ETag, long Size, DateTime Written);

    /// <summary>A bucket's multipart records, as Miniflare's R2 keeps them (its bucket object's SQLite), on one read-only connection.</summary>
    private sealed class Records(SqliteConnection connection, string blobs) : IDisposable
    {
        /// <summary>The bucket's records in its data folder, or null when it has none yet (nothing was ever uploaded).</summary>
        public static Records? Open(string bucketFolder)
        {
            var folder = Path.Combine(bucketFolder, "miniflare-R2BucketObject");
            if (!Directory.Exists(folder))
            {
                return null;
            }
            foreach (var file in Directory.EnumerateFiles(folder, "*.sqlite").Where(f => Path.GetFileName(f) != "metadata.sqlite"))
            {
                var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
                connection.Open();
                var records = new Records(connection, Path.Combine(folder, "blobs"));
                if (records.Has("_mf_multipart_uploads"))
                {
                    return records;
                }
                records.Dispose();
            }
            return null;
        }

        public List<Upload> Uploads() => Query(
            "SELECT upload_id, key FROM _mf_multipart_uploads WHERE state = $state ORDER BY key, upload_id",
            r => new Upload(r.GetString(0), r.GetString(1)), ("$state", InProgress));

        public Upload? Upload(string id) => Query(
            "SELECT upload_id, key FROM _mf_multipart_uploads WHERE upload_id = $id AND state = $state",
            r => new Upload(r.GetString(0), r.GetString(1)), ("$id", id), ("$state", InProgress)).SingleOrDefault();

        public List<Part> Parts(string uploadId) => Query(
            "SELECT part_number, etag, size, blob_id FROM _mf_multipart_parts WHERE upload_id = $id ORDER BY part_number",
            r => new Part(r.GetInt32(0), r.GetString(1), r.GetInt64(2), WrittenAt(r.GetString(3))), ("$id", uploadId));

        private DateTime WrittenAt(string blobId)
        {
            var file = Path.Combine(blobs, blobId);
            return File.Exists(file) ? File.GetLastWriteTimeUtc(file) : DateTime.UtcNow;
        }

        private bool Has(string table) =>
            Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = $name", r => r.GetString(0), ("$name", table)).Count > 0;

        private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object Value)[] parameters)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }
            using var reader = command.ExecuteReader();
            var rows = new List<T>();
            while (reader.Read())
            {
                rows.Add(read(reader));
            }
            return rows;
        }

        public void Dispose() => connection.Dispose();
    }
}
