using Cloudflare.Emulation.Configuration;

namespace Cloudflare.Emulation.Supervision;

/// <summary>
/// An exclusive lock on the state root, held for the harness's lifetime: two harnesses on one state
/// root would corrupt each other's SQLite files, so the second one stops with a clear message. The
/// state root is made private to its user (0700) as it is taken.
/// </summary>
public sealed class StateRootLock : IDisposable
{
    private readonly FileStream _stream;

    private StateRootLock(FileStream stream) => _stream = stream;

    public static StateRootLock Acquire(string stateRoot)
    {
        try
        {
            Directory.CreateDirectory(stateRoot);
            if (!OperatingSystem.IsWindows())
            {
                // Every tenant's data, the platform's keys and the API's secrets live below it: for
                // the user running the harness only.
                File.SetUnixFileMode(stateRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var probe = Path.Combine(stateRoot, ".write-probe");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new HarnessConfigurationException("--state-root",
                $"'{stateRoot}' is not writable ({ex.Message}). Choose a folder you can write, e.g. --state-root ./.state");
        }
        var path = Path.Combine(stateRoot, ".lock");
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // The owner goes in a file of its own: the locked file cannot be read by anyone else.
            File.WriteAllText(OwnerFile(stateRoot), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new StateRootLock(stream);
        }
        catch (IOException)
        {
            var owner = TryRead(OwnerFile(stateRoot));
            throw new HarnessConfigurationException("--state-root",
                $"'{stateRoot}' is in use by another harness (process {owner}). Stop it, or give this one its own --state-root.");
        }
    }

    public void Dispose() => _stream.Dispose();

    private static string OwnerFile(string stateRoot) => Path.Combine(stateRoot, ".lock.owner");

    private static string TryRead(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length > 0 ? text : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
