using System.Text.Json;

namespace Cloudflare.Emulation.Supervision;

/// <summary>
/// The stable ids of a stack's resources (D1 database id, R2 bucket, KV namespace id), kept in the
/// stack's state folder so the same data is found again after a restart of the harness.
/// </summary>
public sealed record StackIdentity(string DatabaseId, string BucketName, string KvNamespaceId)
{
    private const string FileName = "stack.json";

    public static StackIdentity LoadOrCreate(string stackDirectory, string stackName)
    {
        var path = Path.Combine(stackDirectory, FileName);
        if (File.Exists(path))
        {
            var existing = JsonSerializer.Deserialize<StackIdentity>(File.ReadAllText(path));
            if (existing is not null)
            {
                return existing;
            }
        }
        Directory.CreateDirectory(stackDirectory);
        var created = new StackIdentity(
            DatabaseId: Guid.NewGuid().ToString(),
            BucketName: $"{stackName}-documents",
            KvNamespaceId: Guid.NewGuid().ToString("N"));
        // Write then rename: a crash mid-write never leaves a half file that loses the ids.
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(created));
        File.Move(temp, path, overwrite: true);
        return created;
    }
}
