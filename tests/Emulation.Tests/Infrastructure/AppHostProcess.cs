using System.Diagnostics;

namespace Emulation.Tests.Infrastructure;

/// <summary>The real AppHost run as a process, as CI and architects run it headless: its exit code and everything it printed.</summary>
internal static class AppHostProcess
{
    public static async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "AppHost.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        return (process.ExitCode, await stdout + await stderr);
    }
}
