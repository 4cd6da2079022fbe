using System.Net;
using Cloudflare.Emulation.Platform;

namespace Emulation.Tests.Infrastructure;

/// <summary>
/// An account signed up through the platform for one test, with its owner, deleted (deprovisioned:
/// script, D1, bucket, namespace, row) when the test is done — so a test that restarts, fills or
/// reconfigures a tenant touches nobody else's.
/// </summary>
public sealed class TemporaryAccount : IAsyncDisposable
{
    private readonly HarnessFixture _harness;

    private TemporaryAccount(HarnessFixture harness, string slug, string ownerId)
    {
        _harness = harness;
        Slug = slug;
        OwnerId = ownerId;
        Api = new AccountApi(harness.Http, harness.PlatformUrl, slug, harness.Tokens.Issue(slug, ownerId, TimeSpan.FromMinutes(30)));
    }

    public string Slug { get; }

    /// <summary>The supervisor's stack: the account's script, acct-&lt;slug&gt;.</summary>
    public string Stack => HarnessFixture.StackOf(Slug);

    public string OwnerId { get; }

    /// <summary>The account's API through the platform, as its owner.</summary>
    public AccountApi Api { get; }

    public static async Task<TemporaryAccount> CreateAsync(HarnessFixture harness, string prefix)
    {
        var slug = $"{prefix}-{Guid.NewGuid():N}"[..20];
        using (var signup = await harness.AdminAsync(HttpMethod.Post, "/admin/accounts", new { slug, name = prefix }))
        {
            Assert.True(signup.StatusCode == HttpStatusCode.Created, await signup.Content.ReadAsStringAsync());
        }
        var owner = await new AccountOwnerBootstrap(harness.Http, harness.Tokens)
            .EnsureOwnerAsync(new Uri(harness.Supervisor.Find(HarnessFixture.StackOf(slug))!.Url!), slug, CancellationToken.None);
        return new TemporaryAccount(harness, slug, owner);
    }

    public async ValueTask DisposeAsync()
    {
        using var deleted = await _harness.AdminAsync(HttpMethod.Delete, $"/admin/accounts/{Slug}");
        Assert.True(deleted.StatusCode == HttpStatusCode.NoContent, $"deleting {Slug}: {(int)deleted.StatusCode} {await deleted.Content.ReadAsStringAsync()}");
    }
}
