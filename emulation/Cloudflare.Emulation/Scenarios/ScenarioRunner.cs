using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Cloudflare.Emulation.ControlPlane;
using Cloudflare.Emulation.Platform;
using Cloudflare.Emulation.Supervision;

namespace Cloudflare.Emulation.Scenarios;

/// <summary>A step as it was done: when (seconds into the run), and what the API answered.</summary>
public sealed record ScenarioStepLog(double At, double DoneAt, string Action, string Target, bool Ok, string Message);

/// <summary>
/// Runs a scenario against a running harness: signs a user or two into each account, starts the
/// traffic, does each step on time through the local Cloudflare API (as an architect would), then
/// puts everything back (rules cleared, stacks resumed, healed, restarted), reads back every
/// acknowledged write, and reports.
/// </summary>
public sealed class ScenarioRunner(Uri platform, string adminToken, ControlPlaneServer api, StackSupervisor supervisor, TokenIssuer tokens)
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromMinutes(2),
    };

    public async Task<ScenarioReport> RunAsync(Scenario scenario, CancellationToken cancellationToken)
    {
        var users = await SignInAsync(scenario, cancellationToken);
        var owners = users.Where(u => u.Name == "owner").ToDictionary(u => u.Account);
        var clock = Stopwatch.StartNew();
        var startedAt = DateTimeOffset.UtcNow;
        var traffic = new ScenarioTrafficRun(Http, platform, scenario.Traffic, clock);
        var steps = new List<ScenarioStepLog>();
        var until = new CancellationTokenSource(TimeSpan.FromSeconds(scenario.Traffic.Seconds));
        var running = traffic.RunAsync(BuildUsers(scenario, users), until.Token);
        var trafficSeconds = 0.0;
        try
        {
            foreach (var step in scenario.Steps.OrderBy(s => s.At))
            {
                var wait = TimeSpan.FromSeconds(step.At) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }
                var at = clock.Elapsed.TotalSeconds;
                var (ok, message) = await DoAsync(step, users, owners, cancellationToken);
                var target = string.Join(",", step.Targets().Distinct().DefaultIfEmpty(step.Account ?? ""));
                steps.Add(new ScenarioStepLog(at, clock.Elapsed.TotalSeconds, step.Action, target, ok, message));
            }
            await running;
        }
        finally
        {
            // However the run ends (a step that threw, the harness stopping), the users stop and
            // nothing the steps set is left behind.
            await until.CancelAsync();
            await running;
            until.Dispose();
            trafficSeconds = clock.Elapsed.TotalSeconds;
            await PutBackAsync(CancellationToken.None);
        }
        var lost = await traffic.LostWritesAsync(owners, cancellationToken);
        var signups = new Dictionary<string, string>();
        foreach (var slug in scenario.Steps.Where(s => s.Action == "signup").Select(s => s.Account!).Distinct())
        {
            var row = await new PlatformAdminClient(Http, adminToken).GetAsync(platform, slug, cancellationToken);
            signups[slug] = row?.GetProperty("status").GetString() ?? "missing";
        }
        var (behind, half) = await MigrationStateAsync(scenario, owners.Keys, cancellationToken);
        var afterRun = new Dictionary<string, double?>
        {
            ["acknowledgedWritesLost"] = lost,
            ["signupsIncomplete"] = signups.Count(s => s.Value != "active"),
            ["rolloutFailures"] = _rolloutFailures,
            ["accountsBehindRelease"] = behind,
            ["halfMigratedAccounts"] = half,
        };
        return ScenarioReport.From(scenario, startedAt, trafficSeconds, traffic, steps, afterRun, signups);
    }

    /// <summary>Per account: its owner, and an admin made for the scenario (the user "demote" acts on).</summary>
    private async Task<List<ScenarioUser>> SignInAsync(Scenario scenario, CancellationToken cancellationToken)
    {
        var users = new List<ScenarioUser>();
        var admin = new PlatformAdminClient(Http, adminToken);
        for (var i = 1; i <= scenario.Accounts; i++)
        {
            var slug = $"account-{i}";
            if (supervisor.Find(Hosting.WorkerStackResource.AccountScriptPrefix + slug) is not { State: StackState.Running, Url: { } url })
            {
                throw new InvalidOperationException($"{slug} is not running: the scenario needs {scenario.Accounts} accounts (run it with --scenario, which starts them)");
            }
            var ownerId = await new AccountOwnerBootstrap(Http, tokens).EnsureOwnerAsync(new Uri(url), slug, cancellationToken);
            var owner = new ScenarioUser(slug, "owner", await admin.IssueTokenAsync(platform, slug, ownerId, TimeSpan.FromHours(1), cancellationToken), ownerId);
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(platform, $"/accounts/{slug}/api/users"))
            {
                Content = JsonContent.Create(new { email = $"scenario-{Guid.NewGuid():N}@{slug}.example.com", name = "Scenario admin", role = "admin" }),
            };
            request.Headers.Authorization = new("Bearer", owner.Token);
            using var created = await Http.SendAsync(request, cancellationToken);
            var body = await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            if (!created.IsSuccessStatusCode || body.GetProperty("id").GetString() is not { } adminId)
            {
                throw new InvalidOperationException($"{slug}: the scenario's admin could not be created ({(int)created.StatusCode} {body})");
            }
            users.Add(owner);
            users.Add(new ScenarioUser(slug, "admin", await admin.IssueTokenAsync(platform, slug, adminId, TimeSpan.FromHours(1), cancellationToken), adminId));
        }
        return users;
    }

    /// <summary>Each account's virtual users: the scenario's admin first, the rest as its owner.</summary>
    private static List<ScenarioUser> BuildUsers(Scenario scenario, List<ScenarioUser> signedIn) =>
        [.. signedIn.GroupBy(u => u.Account).SelectMany(account => Enumerable.Range(0, scenario.Traffic.UsersPerAccount)
            .Select(i => i == 0 ? account.Single(u => u.Name == "admin") : account.Single(u => u.Name == "owner") with { Name = $"owner-{i}" }))];

    private async Task<(bool Ok, string Message)> DoAsync(ScenarioStep step, List<ScenarioUser> users, Dictionary<string, ScenarioUser> owners, CancellationToken cancellationToken)
    {
        try
        {
            return step.Action switch
            {
                "faults" => await ApiAsync(HttpMethod.Post, "__emulator/chaos/faults", step.Body, cancellationToken),
                "effects" => await ApiAsync(HttpMethod.Post, "__emulator/chaos/effects", step.Body, cancellationToken),
                "kv-staleness" => await ApiAsync(HttpMethod.Post, "__emulator/chaos/kv-staleness", step.Body, cancellationToken),
                "d1-size-limits" => await ApiAsync(HttpMethod.Post, "__emulator/chaos/d1-size-limits", step.Body, cancellationToken),
                "clear" => await ClearAsync(cancellationToken),
                "replication" => await ApiAsync(HttpMethod.Put, $"__emulator/stacks/{step.Stack}/d1/{step.Binding ?? "DB"}/replication", step.Body, cancellationToken),
                "demote" => await DemoteAsync(users.Single(u => u.Account == step.Account && u.Name == "admin"), owners[step.Account!], step.Role!, cancellationToken),
                "signup" => (true, await new PlatformAdminClient(Http, adminToken).SignupAsync(platform, step.Account!, $"Scenario {step.Account}", cancellationToken)),
                "resume-signup" => (true, await new PlatformAdminClient(Http, adminToken).ResumeAsync(platform, step.Account!, cancellationToken)),
                "release" => await PublishMigrationAsync(step.Release()!.Value, cancellationToken),
                "rollout" => await RolloutAsync(cancellationToken),
                _ => await ApiAsync(HttpMethod.Post, $"__emulator/stacks/{step.Stack}/{step.Action}", null, cancellationToken),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException or InvalidOperationException or KeyNotFoundException)
        {
            // A step that could not be done is reported as not done; the run goes on.
            return (false, ex.Message);
        }
    }

    /// <summary>A new migration in the platform's published release, where the release puts them (account/migrations/).</summary>
    private async Task<(bool Ok, string Message)> PublishMigrationAsync((string Migration, string Sql, string Creates) release, CancellationToken cancellationToken)
    {
        using var content = new StringContent(release.Sql);
        using var response = await supervisor.SendToControlAsync("platform", HttpMethod.Put,
            $"r2/{ReleasesBinding}/objects/{Uri.EscapeDataString(MigrationsPrefix + release.Migration)}", content, cancellationToken);
        return (response.IsSuccessStatusCode, $"{(int)response.StatusCode} {release.Migration} published");
    }

    /// <summary>The platform's rollout of its release to every active account; the accounts it reports as failed are counted.</summary>
    private async Task<(bool Ok, string Message)> RolloutAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(platform, "/admin/releases/rollout"));
        request.Headers.Authorization = new("Bearer", adminToken);
        using var response = await Http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var failed = body.TryGetProperty("failed", out var list) ? list.GetArrayLength() : 0;
        Interlocked.Add(ref _rolloutFailures, failed);
        return (response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
    }

    private int _rolloutFailures;
    private const string ReleasesBinding = "RELEASES";
    private const string MigrationsPrefix = "account/migrations/";

    /// <summary>After the run, per account: whether it has every migration of the release, and whether each release step's table agrees with its record.</summary>
    private async Task<(int Behind, int HalfMigrated)> MigrationStateAsync(Scenario scenario, IEnumerable<string> slugs, CancellationToken cancellationToken)
    {
        var listed = await supervisor.ListR2Async("platform", ReleasesBinding, cancellationToken, MigrationsPrefix);
        var release = listed.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("key").GetString()![MigrationsPrefix.Length..]).ToHashSet();
        var checks = scenario.Steps.Where(s => s.Action == "release").Select(s => s.Release()!.Value).ToList();
        var (behind, half) = (0, 0);
        foreach (var slug in slugs)
        {
            var stack = Hosting.WorkerStackResource.AccountScriptPrefix + slug;
            var recorded = (await supervisor.QueryD1Async(stack, "DB", "SELECT name FROM d1_migrations", [], cancellationToken))
                .GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToHashSet();
            behind += release.All(recorded.Contains) ? 0 : 1;
            foreach (var (migration, _, creates) in checks)
            {
                var tables = (await supervisor.QueryD1Async(stack, "DB", "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?", [creates], cancellationToken))
                    .GetProperty("results")[0].GetProperty("n").GetInt32();
                half += (tables > 0) == recorded.Contains(migration) ? 0 : 1;
            }
        }
        return (behind, half);
    }

    private async Task<(bool Ok, string Message)> ApiAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(api.BaseUrl, path)) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", api.ApiToken);
        using var response = await Http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.IsSuccessStatusCode, $"{(int)response.StatusCode} {(text.Length > 300 ? text[..300] + "…" : text)}");
    }

    private async Task<(bool Ok, string Message)> ClearAsync(CancellationToken cancellationToken)
    {
        var results = new[]
        {
            await ApiAsync(HttpMethod.Post, "__emulator/chaos/faults", Array.Empty<object>(), cancellationToken),
            await ApiAsync(HttpMethod.Post, "__emulator/chaos/effects", new { }, cancellationToken),
            await ApiAsync(HttpMethod.Post, "__emulator/chaos/kv-staleness", Array.Empty<object>(), cancellationToken),
            await ApiAsync(HttpMethod.Post, "__emulator/chaos/d1-size-limits", Array.Empty<object>(), cancellationToken),
        };
        return (results.All(r => r.Ok), string.Join("; ", results.Where(r => !r.Ok).Select(r => r.Message).DefaultIfEmpty("cleared")));
    }

    /// <summary>The owner changes the scenario admin's role (reading its version first, as any client must).</summary>
    private async Task<(bool Ok, string Message)> DemoteAsync(ScenarioUser admin, ScenarioUser owner, string role, CancellationToken cancellationToken)
    {
        var url = new Uri(platform, $"/accounts/{admin.Account}/api/users/{admin.UserId}");
        using var read = new HttpRequestMessage(HttpMethod.Get, url);
        read.Headers.Authorization = new("Bearer", owner.Token);
        read.Headers.TryAddWithoutValidation("x-d1-bookmark", "first-primary");
        using var current = await Http.SendAsync(read, cancellationToken);
        using var change = new HttpRequestMessage(HttpMethod.Patch, url) { Content = JsonContent.Create(new { role }) };
        change.Headers.Authorization = new("Bearer", owner.Token);
        change.Headers.TryAddWithoutValidation("if-match", current.Headers.ETag?.Tag ?? "\"1\"");
        using var response = await Http.SendAsync(change, cancellationToken);
        return (response.IsSuccessStatusCode, $"{(int)response.StatusCode} {admin.Account} admin is now {role}");
    }

    /// <summary>After the traffic: no rule, effect or delay left; every stack resumed, healed, and running again.</summary>
    private async Task PutBackAsync(CancellationToken cancellationToken)
    {
        await ClearAsync(cancellationToken);
        foreach (var stack in supervisor.Stacks)
        {
            if (stack.Paused)
            {
                await ApiAsync(HttpMethod.Post, $"__emulator/stacks/{stack.Name}/resume", null, cancellationToken);
            }
            if (stack.Partitioned)
            {
                await ApiAsync(HttpMethod.Post, $"__emulator/stacks/{stack.Name}/heal", null, cancellationToken);
            }
            if (stack.State == StackState.Failed || stack.Crashed)
            {
                await ApiAsync(HttpMethod.Post, $"__emulator/stacks/{stack.Name}/restart", null, cancellationToken);
            }
        }
        var deadline = Stopwatch.StartNew();
        while (supervisor.Stacks.Any(s => s.State is StackState.Starting or StackState.Reloading) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100, cancellationToken);
        }
    }
}
