using System.Security.Cryptography;

namespace Cloudflare.Emulation.Platform;

/// <summary>The platform's secrets, generated once per state root and kept beside the state (owner-only files).</summary>
public static class PlatformSecrets
{
    /// <summary>Bearer token of the platform's /admin API.</summary>
    public static string LoadOrCreateAdminToken(string stateRoot) =>
        LoadOrCreate(stateRoot, "platform-admin-token", () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>AES-256 key (base64) the platform seals each account's R2 S3 secret with before storing it.</summary>
    public static string LoadOrCreateCredentialsKey(string stateRoot) =>
        LoadOrCreate(stateRoot, "platform-credentials-key", () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    private static string LoadOrCreate(string stateRoot, string file, Func<string> generate)
    {
        var path = Path.Combine(stateRoot, file);
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }
        Directory.CreateDirectory(stateRoot);
        var secret = generate();
        File.WriteAllText(path, secret);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return secret;
    }
}
