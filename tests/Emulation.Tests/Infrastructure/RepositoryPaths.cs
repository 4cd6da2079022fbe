namespace Emulation.Tests.Infrastructure;

/// <summary>Finds the repository from the test binaries (the folder holding Emulation.sln).</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string Workers => Path.Combine(Root, "workers");

    public static string RuntimeHostScript => Path.Combine(Root, "emulation", "runtime-host", "host.mjs");

    /// <summary>A fresh, empty state root for one test's harness.</summary>
    public static string NewStateRoot(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), "emulation-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Emulation.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Emulation.sln not found above " + AppContext.BaseDirectory);
    }
}
