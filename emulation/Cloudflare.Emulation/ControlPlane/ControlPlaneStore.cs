using System.Text.Json;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// The control plane's records, persisted under the state root so every resource (and every
/// deployed script) comes back after a restart. Changes are serialised and written atomically.
/// </summary>
public sealed class ControlPlaneStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string _file;
    private readonly string _scripts;
    private readonly Lock _gate = new();
    private ControlPlaneSnapshot _snapshot;

    public ControlPlaneStore(string stateRoot)
    {
        var dir = Path.Combine(stateRoot, "control-plane");
        _file = Path.Combine(dir, "state.json");
        _scripts = Path.Combine(dir, "scripts");
        Directory.CreateDirectory(_scripts);
        _snapshot = Read(_file);
        ResourcesRoot = Path.Combine(stateRoot, "resources");
    }

    /// <summary>Each D1 database, bucket and namespace keeps its data in a folder of its own below this.</summary>
    public string ResourcesRoot { get; }

    public ControlPlaneSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                return _snapshot;
            }
        }
    }

    /// <summary>Applies a change and writes the new state before anyone sees it.</summary>
    public T Update<T>(Func<ControlPlaneSnapshot, (ControlPlaneSnapshot Next, T Result)> change)
    {
        lock (_gate)
        {
            var (next, result) = change(_snapshot);
            if (!ReferenceEquals(next, _snapshot))
            {
                var temp = _file + ".tmp";
                File.WriteAllText(temp, JsonSerializer.Serialize(next, Json));
                File.Move(temp, _file, overwrite: true);
                _snapshot = next;
            }
            return result;
        }
    }

    /// <summary>Reads the records again from their file (a snapshot's restore has put them back).</summary>
    public void Reload()
    {
        lock (_gate)
        {
            _snapshot = Read(_file);
        }
    }

    private static ControlPlaneSnapshot Read(string file) =>
        File.Exists(file)
            ? JsonSerializer.Deserialize<ControlPlaneSnapshot>(File.ReadAllText(file), Json) ?? ControlPlaneSnapshot.Empty
            : ControlPlaneSnapshot.Empty;

    public string ScriptPath(string name) => Path.Combine(_scripts, name + ".mjs");

    public string ResourceDirectory(string kind, string id) => Path.Combine(ResourcesRoot, kind, id);
}
