using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// D1 read replication with injected lag, end to end through the platform router: without a bookmark a
/// read can be stale; with the bookmark of the last response it never is — for one client, for many
/// concurrent clients, and through the KV read cache. Every test turns replication off again.
/// </summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed partial class ReadReplicationTests(DisruptiveHarnessFixture harness) : IAsyncLifetime
{
    private const string Account = "account-2";
    private static readonly string Replication = $"/__emulator/stacks/{HarnessFixture.StackOf(Account)}/d1/DB/replication";
    private static readonly string Session = $"/__emulator/stacks/{HarnessFixture.StackOf(Account)}/d1/DB/session";

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$")]
    private static partial Regex BookmarkFormat();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await ReplicateAsync(new { replicas = 0, lagMs = 0, frozen = Array.Empty<int>() });

    private async Task<JsonElement> ReplicateAsync(object settings)
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, Replication, settings);
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        return envelope.GetProperty("result");
    }

    private static long VersionOf(JsonElement record) => record.GetProperty("tracking").GetProperty("version").GetInt64();

    [Fact]
    public async Task Without_a_bookmark_a_read_can_be_stale_until_the_replica_catches_up()
    {
        await ReplicateAsync(new { replicas = 2, lagMs = 0 });
        // Both replicas stop applying writes: however slow this machine, a read of them is behind.
        await ReplicateAsync(new { frozen = new[] { 0, 1 } });
        var owner = harness.AsOwner(Account);
        using var created = await owner.SendAsync(HttpMethod.Post, "/api/clients", new { name = "Written just now" });
        var id = (await AccountApi.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetString()!;

        // The replicas do not have the write yet. This is what the other tests guard against.
        using (var stale = await owner.SendAsync(HttpMethod.Get, $"/api/clients/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, stale.StatusCode);
        }

        // Eventually consistent: once they apply writes again, the replicas have it.
        await ReplicateAsync(new { frozen = Array.Empty<int>() });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpStatusCode status;
        do
        {
            await Task.Delay(250);
            using var later = await owner.SendAsync(HttpMethod.Get, $"/api/clients/{id}");
            status = later.StatusCode;
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task With_the_bookmark_a_read_always_sees_the_write()
    {
        await ReplicateAsync(new { replicas = 2, lagMs = 400 });
        var owner = harness.AsOwner(Account);
        for (var i = 0; i < 5; i++)
        {
            using var created = await owner.SendAsync(HttpMethod.Post, "/api/clients", new { name = $"Bookmarked {i}" });
            var id = (await AccountApi.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetString()!;
            var bookmark = AccountApi.BookmarkOf(created);
            Assert.Matches(BookmarkFormat(), bookmark);

            using var read = await owner.SendAsync(HttpMethod.Get, $"/api/clients/{id}", bookmark: bookmark);
            await AccountApi.ReadAsync(read, HttpStatusCode.OK);

            using var patched = await owner.SendAsync(HttpMethod.Patch, $"/api/clients/{id}", new { name = $"Renamed {i}" }, ifMatch: "\"1\"", bookmark: AccountApi.BookmarkOf(read));
            Assert.Equal(2, VersionOf(await AccountApi.ReadAsync(patched, HttpStatusCode.OK)));
            using var reread = await owner.SendAsync(HttpMethod.Get, $"/api/clients/{id}", bookmark: AccountApi.BookmarkOf(patched));
            Assert.Equal(2, VersionOf(await AccountApi.ReadAsync(reread, HttpStatusCode.OK)));
            // Bookmarks only move forward (they sort oldest to newest).
            Assert.True(string.CompareOrdinal(AccountApi.BookmarkOf(patched), bookmark) > 0);
        }
    }

    [Fact]
    public async Task Concurrent_clients_never_see_their_writes_or_reads_go_back()
    {
        const int seed = 20261130;
        const int clients = 6;
        const int steps = 24;
        var owner = harness.AsOwner(Account);
        var records = new List<string>();
        for (var k = 0; k < clients; k++)
        {
            records.Add(await owner.CreateIdAsync("clients", new { name = $"Register {k}" }));
        }
        await ReplicateAsync(new { replicas = 2, lagMs = 200 });

        var history = new System.Collections.Concurrent.ConcurrentBag<Observation>();
        var done = 0;
        var frozen = false;
        int readsWhileFrozen = 0, writesWhileFrozen = 0;
        async Task RunClientAsync(int k)
        {
            var random = new Random(seed + k);
            string? bookmark = null;
            long ownVersion = 1;
            for (var step = 0; step < steps; step++, Interlocked.Increment(ref done))
            {
                await Task.Delay(random.Next(0, 25));
                if (random.NextDouble() < 0.35)
                {
                    using var write = await owner.SendAsync(HttpMethod.Patch, $"/api/clients/{records[k]}", new { name = $"Register {k} step {step}" },
                        ifMatch: $"\"{ownVersion}\"", bookmark: bookmark);
                    // A 412 would mean the Worker read its own record older than this client's last write.
                    ownVersion = VersionOf(await AccountApi.ReadAsync(write, HttpStatusCode.OK));
                    bookmark = AccountApi.BookmarkOf(write) ?? bookmark;
                    history.Add(new Observation(k, step, true, records[k], ownVersion, bookmark));
                    if (Volatile.Read(ref frozen))
                    {
                        Interlocked.Increment(ref writesWhileFrozen);
                    }
                }
                else
                {
                    var target = records[random.Next(records.Count)];
                    using var read = await owner.SendAsync(HttpMethod.Get, $"/api/clients/{target}", bookmark: bookmark);
                    var version = read.StatusCode == HttpStatusCode.NotFound ? 0 : VersionOf(await AccountApi.ReadAsync(read, HttpStatusCode.OK));
                    bookmark = AccountApi.BookmarkOf(read) ?? bookmark;
                    history.Add(new Observation(k, step, false, target, version, bookmark));
                    if (Volatile.Read(ref frozen))
                    {
                        Interlocked.Increment(ref readsWhileFrozen);
                    }
                }
            }
        }

        // An architect's fault on the side: one replica freezes for the middle third of the run (by
        // steps done, not by time, so a slow machine still runs traffic through it), then thaws.
        // The waits end early if the clients do (one failed): the failure is reported, not a hang.
        async Task FreezeOneReplicaAsync(Task clientsDone)
        {
            while (Volatile.Read(ref done) < clients * steps / 3 && !clientsDone.IsCompleted)
            {
                await Task.Delay(10);
            }
            await ReplicateAsync(new { frozen = new[] { 0 } });
            Volatile.Write(ref frozen, true);
            while (Volatile.Read(ref done) < 2 * clients * steps / 3 && !clientsDone.IsCompleted)
            {
                await Task.Delay(10);
            }
            Volatile.Write(ref frozen, false);
            await ReplicateAsync(new { frozen = Array.Empty<int>() });
        }

        var clientsDone = Task.WhenAll(Enumerable.Range(0, clients).Select(RunClientAsync));
        await Task.WhenAll(clientsDone, FreezeOneReplicaAsync(clientsDone));
        Assert.Equal(clients * steps, history.Count);
        Assert.True(readsWhileFrozen >= 5 && writesWhileFrozen >= 2, $"the freeze saw {readsWhileFrozen} reads and {writesWhileFrozen} writes");
        var violations = SessionHistory.Violations(history);
        Assert.True(violations.Count == 0, $"seed {seed}: {string.Join("\n", violations)}");
    }

    [Fact]
    public async Task A_bookmark_newer_than_a_cached_role_bypasses_the_KV_cache()
    {
        var owner = harness.AsOwner(Account);
        var (userId, user) = await harness.UserAsync(Account, "admin");
        string? ownBookmark;
        using (var audit = await user.SendAsync(HttpMethod.Get, "/api/audit-events")) // role now cached in KV
        {
            await AccountApi.ReadAsync(audit, HttpStatusCode.OK);
            ownBookmark = AccountApi.BookmarkOf(audit);
        }
        var current = await owner.GetJsonAsync($"/api/users/{userId}");
        await ReplicateAsync(new { replicas = 1, lagMs = 0 });
        // Wait until the replica knows the user (as admin), then freeze it: it stays behind the demotion.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (Count(await SessionAsync("first-unconstrained", [new { sql = "SELECT count(*) AS n FROM users WHERE id = ?", @params = new[] { userId } }])) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the replica never caught up");
            await Task.Delay(200);
        }
        await ReplicateAsync(new { frozen = new[] { 0 } });

        using var demoted = await owner.SendAsync(HttpMethod.Patch, $"/api/users/{userId}", new { role = "readonly" }, ifMatch: $"\"{VersionOf(current)}\"");
        await AccountApi.ReadAsync(demoted, HttpStatusCode.OK);
        var afterDemotion = AccountApi.BookmarkOf(demoted);

        // A read without the bookmark goes to the replica (frozen before it), which still says admin — and
        // that refills the cache the demotion emptied: reads without the bookmark see the old role.
        using (var read = await user.SendAsync(HttpMethod.Get, "/api/clients?limit=1"))
        {
            await AccountApi.ReadAsync(read, HttpStatusCode.OK);
        }
        using (var stale = await user.SendAsync(HttpMethod.Get, "/api/audit-events"))
        {
            await AccountApi.ReadAsync(stale, HttpStatusCode.OK);
        }
        // A change never trusts the cache: it reads the role from the primary (ADR 0006) — also when
        // it carries the user's own bookmark from before the demotion, which the frozen replica satisfies.
        using (var write = await user.SendAsync(HttpMethod.Post, "/api/clients", new { name = "Refused" }))
        {
            await AccountApi.ReadAsync(write, HttpStatusCode.Forbidden);
        }
        Assert.NotNull(ownBookmark);
        using (var write = await user.SendAsync(HttpMethod.Post, "/api/clients", new { name = "Refused too" }, bookmark: ownBookmark))
        {
            await AccountApi.ReadAsync(write, HttpStatusCode.Forbidden);
        }

        // With the bookmark of the demotion, the cached entry is older than the caller's view: not used.
        using var fresh = await user.SendAsync(HttpMethod.Get, "/api/audit-events", bookmark: afterDemotion);
        await AccountApi.ReadAsync(fresh, HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("not-a-bookmark")]
    [InlineData("00000001-00000000-00000001")]
    [InlineData("first-anything")]
    public async Task A_malformed_bookmark_is_a_400_naming_the_header(string bookmark)
    {
        using var response = await harness.AsOwner(Account).SendAsync(HttpMethod.Get, "/api/clients", bookmark: bookmark);
        Assert.Equal("x-d1-bookmark", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_forged_or_foreign_bookmark_is_a_400_naming_the_header()
    {
        using var own = await harness.AsOwner(Account).SendAsync(HttpMethod.Get, "/api/clients");
        var bookmark = AccountApi.BookmarkOf(own)!;
        var forged = bookmark[..^1] + (bookmark[^1] == '0' ? '1' : '0');
        using var other = await harness.AsOwner("account-1").SendAsync(HttpMethod.Get, "/api/clients");
        var foreign = AccountApi.BookmarkOf(other)!;

        foreach (var bad in new[] { forged, foreign, "ffffffff-ffffffff-ffffffff-ffffffffffffffffffffffffffffffff" })
        {
            using var response = await harness.AsOwner(Account).SendAsync(HttpMethod.Get, "/api/clients", bookmark: bad);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{bad}: {(int)response.StatusCode} {text}");
            Assert.Equal("x-d1-bookmark", JsonDocument.Parse(text).RootElement.GetProperty("field").GetString());
            Assert.DoesNotContain("account-1", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_genuine_bookmark_from_the_future_waits_then_is_a_400()
    {
        // Only a restore to an earlier point could make one: sign a position past the head with the
        // database's own secret, as the emulator would have.
        var status = (await harness.CloudflareAsync(HttpMethod.Get, Replication)).Envelope.GetProperty("result");
        var databaseId = status.GetProperty("databaseId").GetString()!;
        var head = status.GetProperty("head").GetInt64();
        var (_, secretRows) = await harness.CloudflareAsync(HttpMethod.Post, Session,
            new { bookmark = "first-primary", statements = new[] { new { sql = "SELECT secret FROM _emulator_d1_replication" } } });
        var secret = Convert.FromHexString(secretRows.GetProperty("result").GetProperty("results")[0].GetProperty("results")[0].GetProperty("secret").GetString()!);
        var prefix = $"00000001-00000000-{head + 1000:x8}";
        var mac = System.Security.Cryptography.HMACSHA256.HashData(secret, System.Text.Encoding.UTF8.GetBytes($"{databaseId}:{prefix}"));
        var future = $"{prefix}-{Convert.ToHexStringLower(mac)[..32]}";

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await harness.AsOwner(Account).SendAsync(HttpMethod.Get, "/api/clients", bookmark: future);
        var body = await AccountApi.ReadAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("x-d1-bookmark", body.GetProperty("field").GetString());
        Assert.Contains("ahead of this database", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"answered after {clock.Elapsed.TotalSeconds:0.0} s: it should wait for the primary first");
    }

    [Fact]
    public async Task A_database_from_before_replication_gives_a_new_replica_a_copy_of_its_data()
    {
        // A tenant whose D1 was written before the emulator replicated anything (state from an older harness).
        await InNewAccountAsync("legacy", async stack =>
        {
            var d1 = $"/__emulator/stacks/{stack}/d1/DB";
            await harness.CloudflareAsync(HttpMethod.Post, $"{d1}/session", new
            {
                bookmark = "first-primary",
                statements = new[] { new { sql = "INSERT INTO clients (id, body) VALUES ('c1', json_object('id', 'c1', 'name', 'Old', 'status', 'active'))" } },
            });
            // Take the emulator's own tables out of the file, as if they had never been there.
            await harness.Supervisor.StopStackAsync(stack, CancellationToken.None);
            var database = harness.DatabaseIdOf(stack);
            foreach (var file in D1Files.Of(harness.ControlPlane.Store.ResourceDirectory("d1", database)))
            {
                using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
                connection.Open();
                using var drop = connection.CreateCommand();
                drop.CommandText = "DROP TABLE IF EXISTS _emulator_d1_log; DROP TABLE IF EXISTS _emulator_d1_replication;";
                drop.ExecuteNonQuery();
            }
            await harness.Supervisor.RestartStackAsync(stack, CancellationToken.None);

            var (status, _) = await harness.CloudflareAsync(HttpMethod.Put, $"{d1}/replication", new { replicas = 1, lagMs = 0 });
            Assert.Equal(HttpStatusCode.OK, status);
            var (_, read) = await harness.CloudflareAsync(HttpMethod.Post, $"{d1}/session", new
            {
                bookmark = "first-unconstrained",
                statements = new[] { new { sql = "SELECT count(*) AS n FROM clients WHERE id = 'c1' AND name = 'Old'" } },
            });
            var result = read.GetProperty("result").GetProperty("results")[0];
            Assert.False(result.GetProperty("meta").GetProperty("served_by_primary").GetBoolean());
            Assert.Equal(1, result.GetProperty("results")[0].GetProperty("n").GetInt64()); // the copy, generated columns and all
        });
    }

    [Fact]
    public async Task Replica_databases_are_added_when_replication_is_first_turned_on_and_come_back_after_a_restart()
    {
        // A new tenant's stack starts without replica databases (each would cost every stack memory and
        // start-up time); turning replication on adds them, restarting that stack's workerd once.
        var unconstrainedRead = new
        {
            bookmark = "first-unconstrained",
            statements = new[] { new { sql = "SELECT count(*) AS n FROM clients" } },
        };
        await InNewAccountAsync("replicas", async stack =>
        {
            var d1 = $"/__emulator/stacks/{stack}/d1/DB";
            var before = harness.Supervisor.Find(stack)!.ProcessId;
            // Two changes at once (two architects, or a script) share the one restart; the second, sent
            // while the stack is restarting, waits for it rather than being refused.
            var first = harness.CloudflareAsync(HttpMethod.Put, $"{d1}/replication", new { replicas = 2, lagMs = 0 });
            await Task.Delay(150);
            var second = harness.CloudflareAsync(HttpMethod.Put, $"{d1}/replication", new { replicas = 2, lagMs = 0 });
            var turnedOn = await Task.WhenAll(first, second);
            Assert.All(turnedOn, r => Assert.True(r.Status == HttpStatusCode.OK, r.Envelope.ToString()));
            var withReplicas = harness.Supervisor.Find(stack)!.ProcessId;
            Assert.NotEqual(before, withReplicas);
            // New replicas are empty until they catch up: no read may land on one before it has.
            var firstReads = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => harness.CloudflareAsync(HttpMethod.Post, $"{d1}/session", unconstrainedRead)));
            Assert.All(firstReads, r => Assert.True(r.Status == HttpStatusCode.OK, r.Envelope.ToString()));
            Assert.Contains(firstReads, r => !ServedByPrimary(r.Envelope));

            var (status, _) = await harness.CloudflareAsync(HttpMethod.Put, $"{d1}/replication", new { replicas = 1 });
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(withReplicas, harness.Supervisor.Find(stack)!.ProcessId); // already there: no restart

            // State from a harness that did not record which stacks have replica databases: the start
            // reads the database's own replication settings and adds them.
            await harness.Supervisor.StopStackAsync(stack, CancellationToken.None);
            File.Delete(Path.Combine(harness.Supervisor.StackDirectory(stack), "d1-replica-slots.json"));
            await harness.Supervisor.RestartStackAsync(stack, CancellationToken.None);
            Assert.False(ServedByPrimary((await harness.CloudflareAsync(HttpMethod.Post, $"{d1}/session", unconstrainedRead)).Envelope));
        });

        static bool ServedByPrimary(JsonElement envelope) =>
            envelope.GetProperty("result").GetProperty("results")[0].GetProperty("meta").GetProperty("served_by_primary").GetBoolean();
    }

    [Fact]
    public async Task Turning_replication_on_mid_traffic_loses_no_request_through_the_platform()
    {
        // The first time replicas are turned on, the tenant's workerd restarts with them; requests that
        // arrive meanwhile wait for it instead of failing.
        await InNewAccountAsync("busy", async stack =>
        {
            var slug = stack["acct-".Length..];
            var owner = await new Cloudflare.Emulation.Platform.AccountOwnerBootstrap(harness.Http, harness.Tokens)
                .EnsureOwnerAsync(new Uri(harness.Supervisor.Find(stack)!.Url!), slug, CancellationToken.None);
            var token = harness.Tokens.Issue(slug, owner, TimeSpan.FromMinutes(5));
            var before = harness.Supervisor.Find(stack)!.ProcessId;
            // The dashboard row shows the restart as it happens.
            var states = new System.Collections.Concurrent.ConcurrentQueue<Cloudflare.Emulation.Supervision.StackState>();
            void Record(Cloudflare.Emulation.Supervision.StackStatus s)
            {
                if (s.Name == stack)
                {
                    states.Enqueue(s.State);
                }
            }
            harness.Supervisor.StackChanged += Record;
            using var stop = new CancellationTokenSource();
            var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
            async Task TrafficAsync()
            {
                while (!stop.IsCancellationRequested)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, $"/accounts/{slug}/api/users?limit=1"));
                    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                    using var response = await harness.Http.SendAsync(request);
                    statuses.Add(response.StatusCode);
                }
            }
            var traffic = Enumerable.Range(0, 3).Select(_ => TrafficAsync()).ToArray();
            await Task.Delay(300);
            var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, $"/__emulator/stacks/{stack}/d1/DB/replication", new { replicas = 2, lagMs = 0 });
            await Task.Delay(300);
            await stop.CancelAsync();
            await Task.WhenAll(traffic);

            harness.Supervisor.StackChanged -= Record;

            Assert.True(status == HttpStatusCode.OK, envelope.ToString());
            Assert.NotEqual(before, harness.Supervisor.Find(stack)!.ProcessId);
            Assert.Equal([Cloudflare.Emulation.Supervision.StackState.Reloading, Cloudflare.Emulation.Supervision.StackState.Running], states.Distinct());
            Assert.True(statuses.Count >= 10, $"only {statuses.Count} requests were sent");
            Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        });
    }

    [Fact]
    public async Task A_bookmark_stays_valid_across_a_restart()
    {
        var owner = harness.AsOwner(Account);
        using var created = await owner.SendAsync(HttpMethod.Post, "/api/clients", new { name = "Before restart" });
        var id = (await AccountApi.ReadAsync(created, HttpStatusCode.Created)).GetProperty("id").GetString()!;
        var bookmark = AccountApi.BookmarkOf(created);

        await harness.Supervisor.RestartStackAsync(HarnessFixture.StackOf(Account), CancellationToken.None);

        using var read = await owner.SendAsync(HttpMethod.Get, $"/api/clients/{id}", bookmark: bookmark);
        await AccountApi.ReadAsync(read, HttpStatusCode.OK);
        Assert.True(string.CompareOrdinal(AccountApi.BookmarkOf(read), bookmark) >= 0);
    }

    [Fact]
    public async Task Meta_says_where_each_query_ran()
    {
        await ReplicateAsync(new { replicas = 1, lagMs = 0 });
        var statements = new[] { new { sql = "SELECT count(*) AS n FROM clients" }, new { sql = "SELECT count(*) AS n FROM clients" } };

        var primaryFirst = await SessionAsync("first-primary", statements);
        Assert.True(Meta(primaryFirst, 0).GetProperty("served_by_primary").GetBoolean());
        Assert.Equal("WEUR", Meta(primaryFirst, 0).GetProperty("served_by_region").GetString());
        Assert.False(Meta(primaryFirst, 1).GetProperty("served_by_primary").GetBoolean());

        var unconstrained = await SessionAsync("first-unconstrained", statements);
        Assert.False(Meta(unconstrained, 0).GetProperty("served_by_primary").GetBoolean());
        Assert.Equal("EEUR", Meta(unconstrained, 0).GetProperty("served_by_region").GetString());

        // A frozen replica cannot catch up to a newer bookmark: the query goes to the primary instead.
        var status = await ReplicateAsync(new { frozen = new[] { 0 } });
        await harness.AsOwner(Account).CreateIdAsync("clients", new { name = "After the freeze" });
        var head = (await ReplicateAsync(new { })).GetProperty("bookmark").GetString();
        Assert.True(string.CompareOrdinal(head, status.GetProperty("bookmark").GetString()) > 0);
        var bookmarked = await SessionAsync(head, statements[..1]);
        Assert.True(Meta(bookmarked, 0).GetProperty("served_by_primary").GetBoolean());
        var stale = await SessionAsync("first-unconstrained", statements[..1]);
        Assert.False(Meta(stale, 0).GetProperty("served_by_primary").GetBoolean());
        Assert.True(Count(stale) < Count(bookmarked), "the frozen replica should not have the new client");
    }

    [Fact]
    public async Task The_dashboard_freezes_and_thaws_a_replica()
    {
        await ReplicateAsync(new { replicas = 2, lagMs = 100 });
        var frozen = await harness.App.ResourceCommands.ExecuteCommandAsync($"{Account}-d1", "d1-freeze-replica");
        Assert.True(frozen.Success, frozen.Message);
        var status = (await harness.CloudflareAsync(HttpMethod.Get, Replication)).Envelope.GetProperty("result");
        Assert.Equal([0], status.GetProperty("frozen").EnumerateArray().Select(i => i.GetInt32()));

        var thawed = await harness.App.ResourceCommands.ExecuteCommandAsync($"{Account}-d1", "d1-unfreeze-replicas");
        Assert.True(thawed.Success, thawed.Message);
        status = (await harness.CloudflareAsync(HttpMethod.Get, Replication)).Envelope.GetProperty("result");
        Assert.Empty(status.GetProperty("frozen").EnumerateArray());
        Assert.Equal(2, status.GetProperty("replicas").GetInt32());
    }

    [Fact]
    public async Task The_platforms_shared_D1_has_replicas_too()
    {
        const string platform = "/__emulator/stacks/platform/d1/DB";
        try
        {
            var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, $"{platform}/replication", new { replicas = 1, lagMs = 0 });
            Assert.True(status == HttpStatusCode.OK, envelope.ToString());
            var (_, session) = await harness.CloudflareAsync(HttpMethod.Post, $"{platform}/session",
                new { bookmark = "first-unconstrained", statements = new[] { new { sql = "SELECT count(*) AS n FROM accounts" } } });
            var result = session.GetProperty("result").GetProperty("results")[0];
            Assert.False(result.GetProperty("meta").GetProperty("served_by_primary").GetBoolean());
            Assert.True(result.GetProperty("results")[0].GetProperty("n").GetInt64() >= HarnessFixture.Accounts.Length);
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Put, $"{platform}/replication", new { replicas = 0 });
        }
    }

    [Theory]
    [InlineData("{\"replicas\":-1}", "replicas")]
    [InlineData("{\"replicas\":9}", "replicas")]
    [InlineData("{\"lagMs\":\"slow\"}", "lagMs")]
    [InlineData("{\"frozen\":\"all\"}", "frozen")]
    [InlineData("{\"regions\":[]}", "regions")]
    public async Task Bad_replication_settings_are_a_400_naming_the_setting(string json, string field)
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, Replication,
            content: new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(field, envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replica_count_the_database_refuses_restarts_nothing()
    {
        await InNewAccountAsync("refused", async stack =>
        {
            var before = harness.Supervisor.Find(stack)!.ProcessId;
            var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Put, $"/__emulator/stacks/{stack}/d1/DB/replication",
                content: new StringContent("{\"replicas\":9}", System.Text.Encoding.UTF8, "application/json"));

            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("replicas", envelope.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
            // Its workerd was not restarted to bind replica databases for a request that was refused.
            Assert.Equal(before, harness.Supervisor.Find(stack)!.ProcessId);
            Assert.Equal(Cloudflare.Emulation.Supervision.StackState.Running, harness.Supervisor.Find(stack)!.State);
        });
    }

    /// <summary>Runs a test against a freshly provisioned account's stack, deleting the account afterwards.</summary>
    private async Task InNewAccountAsync(string prefix, Func<string, Task> test)
    {
        var slug = $"{prefix}-{Guid.NewGuid():N}"[..20];
        using (var signup = await harness.AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = prefix }))
        {
            Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        }
        try
        {
            await test($"acct-{slug}");
        }
        finally
        {
            await harness.AdminAsync(HttpMethod.Delete, $"/admin/accounts/{slug}");
        }
    }

    private async Task<JsonElement> SessionAsync(string? bookmark, object[] statements)
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, Session, new { bookmark, statements });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        return envelope.GetProperty("result");
    }

    private static JsonElement Meta(JsonElement session, int index) => session.GetProperty("results")[index].GetProperty("meta");

    private static long Count(JsonElement session) => session.GetProperty("results")[0].GetProperty("results")[0].GetProperty("n").GetInt64();
}
