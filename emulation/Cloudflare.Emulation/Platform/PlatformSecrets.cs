using System.Security.Cryptography;

namespace Cloudflare.Emulation.Platform;

/// <summary>The platform's admin token, generated once per state root and kept beside the state.</summary>
public static class PlatformSecrets
{
    public static string LoadOrCreateAdminToken(string stateRoot)
    {
        var path = Path.Combine(stateRoot, "platform-admin-token");
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length > 0)
            {
                return existing;
            }
        }
        Directory.CreateDirectory(stateRoot);
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        File.WriteAllText(path, token);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return token;
    }
}
