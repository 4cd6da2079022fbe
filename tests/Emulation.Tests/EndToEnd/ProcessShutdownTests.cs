using System.Diagnostics;
using Cloudflare.Emulation.Runtime;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// The real AppHost as a separate process: however it stops — SIGTERM, or killed outright so that it
/// cleans nothing up itself — no node or workerd process of it is left running.
/// </summary>
public sealed class ProcessShutdownTests
{
    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task Stopping_the_apphost_leaves_no_node_or_workerd_process_behind(string signal)
    {
        var stateRoot = RepositoryPaths.NewStateRoot("signal");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "AppHost.dll"),
            "--accounts", "1", "--state-root", stateRoot, "--hot-reload", "false"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // What the launch profile gives `dotnet run`: a plain-http dashboard on loopback (random ports here).
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = "http://127.0.0.1:0";
        start.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        using var appHost = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        appHost.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        appHost.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        appHost.BeginOutputReadLine();
        appHost.BeginErrorReadLine();
        try
        {
            // The runtime host and a workerd for each of the two stacks.
            await WaitUntilAsync(() => ProcessTable.FindByStateRoot(stateRoot).Count >= 3, TimeSpan.FromSeconds(90),
                () => $"the harness did not start its stacks; output:\n{output}");

            using (var kill = Process.Start("kill", [$"-{signal}", appHost.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill!.WaitForExitAsync();
            }
            await appHost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

            await WaitUntilAsync(() => ProcessTable.FindByStateRoot(stateRoot).Count == 0, TimeSpan.FromSeconds(20),
                () => $"still running after SIG{signal}: {Describe(ProcessTable.FindByStateRoot(stateRoot))}\noutput:\n{output}");
        }
        finally
        {
            if (!appHost.HasExited)
            {
                appHost.Kill(entireProcessTree: true);
            }
            ProcessTable.KillOrphans(stateRoot);
            HarnessFixture.TryDelete(stateRoot);
        }
    }

    private static string Describe(IEnumerable<int> pids) => string.Join("; ", pids.Select(pid =>
    {
        try
        {
            return $"{pid} {File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ')}";
        }
        catch (IOException)
        {
            return $"{pid} (gone)";
        }
    }));

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, failure());
            await Task.Delay(200);
        }
    }
}
