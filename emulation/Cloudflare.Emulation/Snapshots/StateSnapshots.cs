using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Snapshots;

/// <summary>What a snapshot holds and was taken with.</summary>
/// <param name="Name">Its name (its folder under &lt;state&gt;/snapshots).</param>
/// <param name="CreatedAt">When it was taken.</param>
/// <param name="Format">The layout of the state folders it copies (<see cref="StateSnapshots.Format"/>).</param>
/// <param name="Migrations">Each repository Worker's D1 migrations when it was taken: the schema its data has.</param>
/// <param name="Stacks">The stacks whose files it holds, each copied while its workerd was stopped.</param>
/// <param name="Bytes">Its size on disk.</param>
/// <param name="DurationMs">How long taking it took.</param>
public sealed record SnapshotManifest(
    string Name,
    DateTimeOffset CreatedAt,
    int Format,
    IReadOnlyDictionary<string, string[]> Migrations,
    IReadOnlyList<string> Stacks,
    long Bytes,
    long DurationMs);

/// <summary>What a restore did: the stacks started again, those left stopped (not in the snapshot), and any that failed.</summary>
public sealed record SnapshotRestore(string Name, IReadOnlyList<string> Started, IReadOnlyList<string> Stopped, IReadOnlyList<string> Failed, long DurationMs);

/// <summary>A snapshot request that cannot be met as asked: <see cref="Status"/> says how (400, 404, 409), <see cref="Code"/> in Cloudflare's envelope.</summary>
public sealed class SnapshotException(int status, string message, int code = Api.BadRequest) : Exception(message)
{
    public int Status { get; } = status;

    public int Code { get; } = code;
}

/// <summary>
/// Snapshots of the whole state — every stack's D1, R2 and KV files (the platform registry among
/// them), every control-plane resource's, and the control plane's records — under
/// <c>&lt;state&gt;/snapshots/&lt;name&gt;</c>, taken while traffic flows: each running stack's workerd
/// is stopped (SIGSTOP) only while its own files are copied, so each stack's copy is a point at which
/// it could have crashed, which SQLite recovers from. A restore stops every stack, puts the files
/// back, reloads the records and starts again what they define.
/// </summary>
public sealed partial class StateSnapshots(string stateRoot, string workersDirectory, StackSupervisor supervisor, ControlPlaneStore store, ScriptDeployer deployer)
{
    /// <summary>The layout copied (which folders, how): a snapshot of another layout is not restored.</summary>
    public const int Format = 1;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    /// <summary>The folders of the state root that hold data (the rest — keys, tokens, chaos settings, reports — are the harness's own).</summary>
    private static readonly string[] DataFolders = ["stacks", "resources"];
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Root { get; } = Path.Combine(stateRoot, "snapshots");

    public IReadOnlyList<SnapshotManifest> List() =>
        Directory.Exists(Root)
            ? [.. Directory.EnumerateDirectories(Root).Select(d => ReadManifest(Path.GetFileName(d))).OfType<SnapshotManifest>().OrderBy(m => m.CreatedAt)]
            : [];

    /// <summary>The snapshot's manifest; 404 when there is none of that name.</summary>
    public SnapshotManifest Get(string name) =>
        ReadManifest(CheckName(name)) ?? throw new SnapshotException(404, $"name: no snapshot '{name}'", Api.UnknownObject);

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        Get(name);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Directory.Delete(Path.Combine(Root, name), recursive: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Takes a snapshot named <paramref name="name"/> (a new name; 409 if taken).</summary>
    public async Task<SnapshotManifest> SaveAsync(string name, CancellationToken cancellationToken)
    {
        CheckName(name);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Directory.Exists(Path.Combine(Root, name)))
            {
                throw new SnapshotException(409, $"name: a snapshot '{name}' exists (delete it first, or choose another name)", Api.AlreadyExists);
            }
            var clock = Stopwatch.StartNew();
            // Written beside its final place and renamed when whole: a crash leaves no half snapshot.
            var partial = Path.Combine(Root, $".{name}.partial-{Guid.NewGuid():N}");
            Directory.CreateDirectory(partial);
            try
            {
                var copied = new HashSet<string>(StringComparer.Ordinal);
                var stacks = new List<string>();
                foreach (var listed in supervisor.Stacks)
                {
                    // A stack starting or reloading (migrations, say) writes without a pid to stop:
                    // its copy waits until it settles.
                    var stack = await supervisor.StillAsync(listed.Name, TimeSpan.FromSeconds(30), cancellationToken) ?? listed;
                    var folders = FoldersOf(stack.Name).Where(Directory.Exists).ToList();
                    Quiesced(stack, () =>
                    {
                        foreach (var folder in folders)
                        {
                            CopyFolder(folder, Path.Combine(partial, Path.GetRelativePath(stateRoot, folder)));
                        }
                    });
                    copied.UnionWith(folders);
                    stacks.Add(stack.Name);
                }
                // Folders no stack holds now (a resource not in use, a stack stopped for good): nothing writes them.
                foreach (var folder in DataFolders.Select(f => Path.Combine(stateRoot, f)).Where(Directory.Exists)
                    .SelectMany(f => Directory.EnumerateDirectories(f).SelectMany(d => Path.GetFileName(f) == "resources" ? Directory.EnumerateDirectories(d) : [d]))
                    .Where(f => !copied.Any(c => f == c || f.StartsWith(c + Path.DirectorySeparatorChar, StringComparison.Ordinal))))
                {
                    CopyFolder(folder, Path.Combine(partial, Path.GetRelativePath(stateRoot, folder)));
                }
                CopyRecords(Path.Combine(stateRoot, "control-plane"), Path.Combine(partial, "control-plane"));
                var manifest = new SnapshotManifest(name, DateTimeOffset.UtcNow, Format, CurrentMigrations(), stacks,
                    Directory.EnumerateFiles(partial, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length), clock.ElapsedMilliseconds);
                await File.WriteAllTextAsync(Path.Combine(partial, "manifest.json"), JsonSerializer.Serialize(manifest, Json), cancellationToken);
                Directory.Move(partial, Path.Combine(Root, name));
                return manifest;
            }
            catch
            {
                Directory.Delete(partial, recursive: true);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Puts the state back as the snapshot has it: every stack stopped, the data folders and records
    /// replaced, then the platform and every script the records define started again. A snapshot of
    /// another layout, or taken with migrations this code does not have, is refused (409) before
    /// anything changes.
    /// </summary>
    public async Task<SnapshotRestore> RestoreAsync(string name, CancellationToken cancellationToken)
    {
        var manifest = Get(name);
        if (manifest.Format != Format)
        {
            throw new SnapshotException(409, $"snapshot '{name}' has state layout {manifest.Format}; this harness restores layout {Format} only");
        }
        var current = CurrentMigrations();
        var unknown = manifest.Migrations.SelectMany(w => w.Value.Where(m => !current.GetValueOrDefault(w.Key, []).Contains(m)).Select(m => $"{w.Key}/{m}")).ToList();
        if (unknown.Count > 0)
        {
            throw new SnapshotException(409, $"snapshot '{name}' was taken with a newer schema: this code does not have the migrations {string.Join(", ", unknown)}");
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var clock = Stopwatch.StartNew();
            var source = Path.Combine(Root, name);
            var before = supervisor.Stacks;
            foreach (var stack in before.Where(s => s.State != StackState.Stopped))
            {
                if (stack is { Paused: true, ProcessId: { } pid })
                {
                    ProcessSignals.Continue(pid);
                }
                await supervisor.StopStackAsync(stack.Name, cancellationToken);
            }
            foreach (var folder in DataFolders)
            {
                ReplaceFolder(Path.Combine(source, folder), Path.Combine(stateRoot, folder));
            }
            ReplaceFolder(Path.Combine(source, "control-plane", "scripts"), Path.Combine(stateRoot, "control-plane", "scripts"));
            File.Copy(Path.Combine(source, "control-plane", "state.json"), Path.Combine(stateRoot, "control-plane", "state.json"), overwrite: true);
            store.Reload();

            var started = new List<string>();
            var failed = new List<string>();
            async Task StartAsync(string stack, Func<Task> start)
            {
                try
                {
                    await start();
                    started.Add(stack);
                }
                catch (Exception ex) when (ex is RuntimeHostException or IOException or InvalidOperationException)
                {
                    failed.Add($"{stack}: {ex.Message}");
                }
            }
            // The harness's own stacks first (the platform), then every script the records define.
            foreach (var stack in before.Where(s => s.State != StackState.Stopped && s.Worker != "upload" && !deployer.Hosts.IsHostName(s.Name)))
            {
                await StartAsync(stack.Name, () => supervisor.RestartStackAsync(stack.Name, cancellationToken));
            }
            foreach (var script in store.Snapshot.Scripts)
            {
                await StartAsync(script.Name, () => deployer.DeployAsync(script, cancellationToken));
            }
            // A resource's own stack starts again on its next use; a script the snapshot does not have stays stopped.
            var stopped = before.Select(s => s.Name).Where(n => !started.Contains(n) && !failed.Any(f => f.StartsWith(n + ":", StringComparison.Ordinal))).ToList();
            return new SnapshotRestore(name, started, stopped, failed, clock.ElapsedMilliseconds);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The folders a stack's workerd writes: its own, and the resource folders it persists to.</summary>
    private IEnumerable<string> FoldersOf(string stack)
    {
        yield return supervisor.StackDirectory(stack);
        if (supervisor.DefinitionOf(stack)?.Persist is { } persist)
        {
            foreach (var folder in new[] { persist.D1, persist.R2, persist.Kv }.OfType<string>())
            {
                yield return folder;
            }
        }
    }

    /// <summary>Runs <paramref name="copy"/> with the stack's workerd stopped, if it runs (and was not paused already).</summary>
    private static void Quiesced(StackStatus stack, Action copy)
    {
        var pid = stack is { State: StackState.Running, Paused: false, ProcessId: { } p } ? p : (int?)null;
        if (pid is { } stop)
        {
            ProcessSignals.Stop(stop);
        }
        try
        {
            copy();
        }
        finally
        {
            if (pid is { } resume)
            {
                ProcessSignals.Continue(resume);
            }
        }
    }

    /// <summary>
    /// Copies a folder, leaving out SQLite's shared-memory index (<c>-shm</c>: rebuilt from the WAL
    /// when the database is next opened) and lock files.
    /// </summary>
    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith("-shm", StringComparison.Ordinal) || file.EndsWith(".lock", StringComparison.Ordinal))
            {
                continue;
            }
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    /// <summary>The control plane's records and deployed scripts (not its credentials: they are the harness's own).</summary>
    private static void CopyRecords(string from, string to)
    {
        Directory.CreateDirectory(to);
        File.Copy(Path.Combine(from, "state.json"), Path.Combine(to, "state.json"));
        CopyFolder(Path.Combine(from, "scripts"), Path.Combine(to, "scripts"));
    }

    private static void ReplaceFolder(string from, string to)
    {
        if (Directory.Exists(to))
        {
            Directory.Delete(to, recursive: true);
        }
        if (Directory.Exists(from))
        {
            CopyFolder(from, to);
        }
        else
        {
            Directory.CreateDirectory(to);
        }
    }

    /// <summary>Each repository Worker's migration files, by Worker folder.</summary>
    private Dictionary<string, string[]> CurrentMigrations() =>
        Directory.EnumerateDirectories(workersDirectory)
            .Where(w => Directory.Exists(Path.Combine(w, "migrations")))
            .ToDictionary(w => Path.GetFileName(w), w => Directory.EnumerateFiles(Path.Combine(w, "migrations"), "*.sql").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);

    private SnapshotManifest? ReadManifest(string name)
    {
        var file = Path.Combine(Root, name, "manifest.json");
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize<SnapshotManifest>(File.ReadAllText(file), Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string CheckName(string name) =>
        SnapshotName().IsMatch(name ?? "") ? name! : throw new SnapshotException(400, $"name: '{name}' is not a snapshot name (1-64 of a-z, 0-9, '-', '_', '.', starting with a letter or digit)");

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex SnapshotName();
}
