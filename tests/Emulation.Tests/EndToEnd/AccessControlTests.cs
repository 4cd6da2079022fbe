using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Cloudflare.Emulation.Platform;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Tokens scoped to one account, and roles enforced on every route.</summary>
[Collection(HarnessCollection.Name)]
public sealed class AccessControlTests(HarnessFixture harness)
{
    private const string Account = "account-1";

    [Fact]
    public async Task Readonly_users_read_but_cannot_write()
    {
        var (_, reader) = await harness.UserAsync(Account, "readonly");
        using (var list = await reader.SendAsync(HttpMethod.Get, "/api/clients"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }
        using var create = await reader.SendAsync(HttpMethod.Post, "/api/clients", new { name = "Not allowed" });
        Assert.Equal("role", await AccountApi.ProblemFieldAsync(create, HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task Staff_edit_work_records_but_cannot_delete_them_or_manage_users()
    {
        var (_, staff) = await harness.UserAsync(Account, "staff");
        var clientId = await staff.CreateIdAsync("clients", new { name = "Staff's client" });
        using (var delete = await staff.SendAsync(HttpMethod.Delete, $"/api/clients/{clientId}"))
        {
            Assert.Equal("role", await AccountApi.ProblemFieldAsync(delete, HttpStatusCode.Forbidden));
        }
        using var user = await staff.SendAsync(HttpMethod.Post, "/api/users", new { email = "x@example.com", name = "X", role = "owner" });
        Assert.Equal("role", await AccountApi.ProblemFieldAsync(user, HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task Managers_delete_work_records_but_cannot_read_the_audit_trail()
    {
        var (_, manager) = await harness.UserAsync(Account, "manager");
        var clientId = await manager.CreateIdAsync("clients", new { name = "Short-lived" });
        using (var delete = await manager.SendAsync(HttpMethod.Delete, $"/api/clients/{clientId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        using var audit = await manager.SendAsync(HttpMethod.Get, "/api/audit-events");
        Assert.Equal("role", await AccountApi.ProblemFieldAsync(audit, HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task Admins_manage_users()
    {
        var (_, admin) = await harness.UserAsync(Account, "admin");
        await admin.CreateIdAsync("users", new { email = $"{Guid.NewGuid():N}@example.com", name = "New hire", role = "staff" });
    }

    [Fact]
    public async Task A_role_change_applies_to_the_very_next_request()
    {
        var (userId, user) = await harness.UserAsync(Account, "staff");
        await user.CreateIdAsync("clients", new { name = "Before demotion" });

        var owner = harness.AsOwner(Account);
        var current = await owner.GetJsonAsync($"/api/users/{userId}");
        using (var demote = await owner.SendAsync(HttpMethod.Patch, $"/api/users/{userId}", new { role = "readonly" }, ifMatch: $"\"{SampleRecords.Version(current)}\""))
        {
            Assert.Equal(HttpStatusCode.OK, demote.StatusCode);
        }

        // The role is cached in KV on every request; the write above must have invalidated it.
        using var after = await user.SendAsync(HttpMethod.Post, "/api/clients", new { name = "After demotion" });
        Assert.Equal(HttpStatusCode.Forbidden, after.StatusCode);
    }

    [Fact]
    public async Task Under_KVs_propagation_delay_a_demoted_user_writes_nothing_and_reads_at_the_old_role_only_within_the_delay()
    {
        const int delayMs = 3000;
        var (userId, user) = await harness.UserAsync(Account, "admin");
        using (var audit = await user.SendAsync(HttpMethod.Get, "/api/audit-events"))
        {
            Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        }
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/kv-staleness",
            new[] { new { stack = HarnessFixture.StackOf(Account), binding = "CACHE", delayMs } });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        try
        {
            var owner = harness.AsOwner(Account);
            var current = await owner.GetJsonAsync($"/api/users/{userId}");
            using (var demote = await owner.SendAsync(HttpMethod.Patch, $"/api/users/{userId}", new { role = "readonly" }, ifMatch: $"\"{SampleRecords.Version(current)}\""))
            {
                Assert.Equal(HttpStatusCode.OK, demote.StatusCode);
            }
            var demoted = Stopwatch.StartNew();

            // A write reads the role from D1: refused at once, whatever KV still says.
            using (var write = await user.SendAsync(HttpMethod.Post, "/api/clients", new { name = "After demotion" }))
            {
                Assert.Equal("role", await AccountApi.ProblemFieldAsync(write, HttpStatusCode.Forbidden));
            }
            // A read may use the cached role while the deletion has not reached this "location".
            HttpStatusCode read;
            var staleReads = 0;
            long lastStaleSentMs = 0;
            while (true)
            {
                var sentMs = demoted.ElapsedMilliseconds;
                using var audit = await user.SendAsync(HttpMethod.Get, "/api/audit-events");
                read = audit.StatusCode;
                if (read != HttpStatusCode.OK || demoted.ElapsedMilliseconds > delayMs + 2000)
                {
                    break;
                }
                staleReads++;
                lastStaleSentMs = sentMs;
                await Task.Delay(200);
            }
            Assert.Equal(HttpStatusCode.Forbidden, read);
            Assert.True(staleReads > 0, "the old role was never read through the delayed cache: the delay was not applied");
            // Not before the delay: the first refusal came after it. Not after it: no read sent once the
            // delay was over still saw the old role (the deletion was made before the clock started).
            // Send times, not answer times, so a slow answer on a loaded machine does not count.
            Assert.True(demoted.ElapsedMilliseconds >= delayMs - 500, $"the old role stopped being read after {demoted.ElapsedMilliseconds} ms, before the {delayMs} ms delay");
            Assert.True(lastStaleSentMs < delayMs + 250, $"a read sent {lastStaleSentMs} ms after the demotion still saw the old role, past the {delayMs} ms delay");
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/kv-staleness", Array.Empty<object>());
        }
    }

    [Fact]
    public async Task A_disabled_user_is_refused_with_403()
    {
        var (userId, user) = await harness.UserAsync(Account, "staff");
        var owner = harness.AsOwner(Account);
        using (var disable = await owner.SendAsync(HttpMethod.Patch, $"/api/users/{userId}", new { status = "disabled" }, ifMatch: "\"1\""))
        {
            Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        }
        using var refused = await user.SendAsync(HttpMethod.Get, "/api/clients");
        Assert.Equal("authorization", await AccountApi.ProblemFieldAsync(refused, HttpStatusCode.Forbidden));
    }

    [Fact]
    public async Task The_platforms_service_token_reaches_the_accounts_users_and_nothing_else()
    {
        var worker = new Uri(harness.Supervisor.Find(HarnessFixture.StackOf(Account))!.Url!);
        var service = harness.Tokens.IssueService(Account);
        async Task<HttpStatusCode> SendAsync(string path, string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(worker, path));
            request.Headers.Authorization = new("Bearer", token);
            using var response = await harness.Http.SendAsync(request);
            return response.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await SendAsync("/platform/users?limit=1", service));
        // The account API is for users: a service token is not one, wherever it is sent.
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("/api/users?limit=1", service));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("/api/clients?limit=1", service));
        using (var routed = await harness.AsOwner(Account).WithToken(service).SendAsync(HttpMethod.Get, "/api/users"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, routed.StatusCode);
        }
        // The platform's routes are not a user's, nor another account's service token's.
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("/platform/users?limit=1", harness.Tokens.Issue(Account, harness.Owners[Account], TimeSpan.FromMinutes(5))));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync("/platform/users?limit=1", harness.Tokens.IssueService("account-2")));
        Assert.Equal(HttpStatusCode.NotFound, await SendAsync("/platform/clients", service));
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "none", "a Bearer token is required" },
        { "garbage", "token is not valid" },
        { "expired", "token expired" },
        { "other-account", "token is for another account" },
        { "wrong-key", "token signature is not valid" },
        { "unknown-user", "does not exist in this account" },
        { "no-expiry", "token has no exp claim" },
        { "endless", "token lives longer than" },
        { "platform-subject", "token subject is not a user" },
        { "service", "token is not a user token" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Bad_tokens_are_refused_saying_why(string kind, string reason)
    {
        var owner = harness.Owners[Account];
        string? token = kind switch
        {
            "none" => null,
            "garbage" => "not.a.token",
            "expired" => harness.Tokens.Sign(Claims(Account, owner, DateTimeOffset.UtcNow.AddMinutes(-5))),
            "other-account" => harness.Tokens.Issue("account-2", harness.Owners["account-2"], TimeSpan.FromMinutes(5)),
            "wrong-key" => Forged(Account, owner),
            "unknown-user" => harness.Tokens.Issue(Account, Guid.NewGuid().ToString(), TimeSpan.FromMinutes(5)),
            "no-expiry" => harness.Tokens.Sign(Without(Claims(Account, owner, DateTimeOffset.UtcNow.AddMinutes(5)), "exp")),
            "endless" => harness.Tokens.Sign(With(Claims(Account, owner, DateTimeOffset.UtcNow.AddDays(3650)), "iat", DateTimeOffset.UtcNow.ToUnixTimeSeconds())),
            "platform-subject" => harness.Tokens.Sign(Claims(Account, TokenIssuer.PlatformSubject, DateTimeOffset.UtcNow.AddMinutes(5))),
            "service" => harness.Tokens.IssueService(Account),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var api = harness.AsOwner(Account).WithToken(token);
        using var response = await api.SendAsync(HttpMethod.Get, "/api/clients");
        // A valid token for another account is the platform's 403: it never reaches this account's Worker.
        var body = await AccountApi.ReadAsync(response, kind == "other-account" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized);
        Assert.Equal("authorization", body.GetProperty("field").GetString());
        Assert.Contains(reason, body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static Dictionary<string, object> Claims(string account, string subject, DateTimeOffset expires) => new()
    {
        ["iss"] = TokenIssuer.Issuer,
        ["aud"] = $"account:{account}",
        ["sub"] = subject,
        ["iat"] = expires.AddMinutes(-10).ToUnixTimeSeconds(),
        ["exp"] = expires.ToUnixTimeSeconds(),
    };

    private static Dictionary<string, object> With(Dictionary<string, object> claims, string name, object value)
    {
        claims[name] = value;
        return claims;
    }

    private static Dictionary<string, object> Without(Dictionary<string, object> claims, string name)
    {
        claims.Remove(name);
        return claims;
    }

    private static string Forged(string account, string subject)
    {
        using var attacker = new TokenIssuer(ECDsa.Create(ECCurve.NamedCurves.nistP256));
        return attacker.Issue(account, subject, TimeSpan.FromMinutes(5));
    }
}
