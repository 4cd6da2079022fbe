using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Tenants on their own domains (Cloudflare for SaaS custom hostnames), end to end: the platform adds
/// a domain through the local API's custom_hostnames, the domain serves nothing while pending, serves
/// exactly its tenant (with the tenant host's token check) once its records are published, and
/// nothing once removed or its account deleted. Invalid names are refused naming the field.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class CustomDomainTests(HarnessFixture harness)
{
    private string Zone => $"zones/{harness.ControlPlane.ZoneId}";

    [Fact]
    public async Task A_domain_serves_nothing_while_pending_then_exactly_its_tenant_and_nothing_once_removed()
    {
        await using var a = await TemporaryAccount.CreateAsync(harness, "doma");
        await using var b = await TemporaryAccount.CreateAsync(harness, "domb");
        var aToken = harness.Tokens.Issue(a.Slug, a.OwnerId, TimeSpan.FromMinutes(10));
        var bToken = harness.Tokens.Issue(b.Slug, b.OwnerId, TimeSpan.FromMinutes(10));
        var aClient = await a.Api.CreateIdAsync("clients", new { name = "Only in A", status = "active" });
        await b.Api.CreateIdAsync("clients", new { name = "Only in B", status = "active" });
        var domain = $"clients-{Guid.NewGuid():N}"[..20] + ".acme-advisers.co.uk";

        using var added = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{a.Slug}/domains", new { hostname = domain.ToUpperInvariant() });
        var pending = await AccountApi.ReadAsync(added, HttpStatusCode.Created);
        Assert.Equal(domain, pending.GetProperty("hostname").GetString());
        Assert.Equal("pending", pending.GetProperty("status").GetString());
        var records = pending.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Contains($"_cf-custom-hostname.{domain}", records);
        Assert.Contains($"_acme-challenge.{domain}", records);
        var id = pending.GetProperty("id").GetString()!;

        // Pending: a clear answer, not another tenant's data and not a 500.
        using (var early = await OnDomainAsync(domain, aToken))
        {
            Assert.Equal(HttpStatusCode.MisdirectedRequest, early.StatusCode);
            Assert.Equal("host", (await early.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
        }
        // A browser gets a page saying so, not JSON.
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, "/")))
        {
            request.Headers.Host = domain;
            request.Headers.Accept.ParseAdd("text/html");
            using var page = await harness.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.MisdirectedRequest, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains($"{domain} is not active yet", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Its owner publishes the records; Cloudflare (here, the emulator) marks it active.
        var (verified, _) = await harness.CloudflareAsync(HttpMethod.Post, $"__emulator/{Zone}/custom_hostnames/{id}/verify");
        Assert.Equal(HttpStatusCode.OK, verified);
        using (var listed = await harness.AdminAsync(HttpMethod.Get, $"/admin/accounts/{a.Slug}/domains"))
        {
            var item = Assert.Single((await AccountApi.ReadAsync(listed, HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
            Assert.Equal("active", item.GetProperty("status").GetString());
            Assert.Empty(item.GetProperty("records").EnumerateArray());
        }

        // Active: A's data on A's domain, host matched after normalisation (case, trailing dot, port).
        using (var served = await OnDomainAsync($"{domain.ToUpperInvariant()}.:443", aToken))
        {
            var ids = (await AccountApi.ReadAsync(served, HttpStatusCode.OK)).GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetString()).ToList();
            Assert.Equal([aClient], ids);
        }
        // B's token on A's domain: refused as on A's tenant host. Near misses route nowhere.
        using (var other = await OnDomainAsync(domain, bToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        }
        foreach (var near in new[] { $"www.{domain}", $"{domain}.evil.example", domain.Replace(".co.uk", ".co", StringComparison.Ordinal) })
        {
            using var missed = await OnDomainAsync(near, aToken);
            Assert.Equal(HttpStatusCode.NotFound, missed.StatusCode);
        }
        // Pinned to the UK region, as tenant hosts are.
        var (_, regional) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/addressing/regional_hostnames");
        Assert.Contains(regional.GetProperty("result").EnumerateArray(), r => r.GetProperty("hostname").GetString() == domain && r.GetProperty("region_key").GetString() == "gb");

        // Removed: nothing routes it, and Cloudflare no longer has it.
        using (var removed = await harness.AdminAsync(HttpMethod.Delete, $"/admin/accounts/{a.Slug}/domains/{domain}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
        using (var gone = await OnDomainAsync(domain, aToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        var (lookup, _) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/custom_hostnames/{id}");
        Assert.Equal(HttpStatusCode.NotFound, lookup);
        (_, regional) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/addressing/regional_hostnames");
        Assert.DoesNotContain(regional.GetProperty("result").EnumerateArray(), r => r.GetProperty("hostname").GetString() == domain);
    }

    [Fact]
    public async Task A_domain_another_account_has_is_refused_and_deleting_an_account_removes_its_domains()
    {
        var domain = $"firm-{Guid.NewGuid():N}"[..16] + ".example.org";
        string id;
        await using (var a = await TemporaryAccount.CreateAsync(harness, "domc"))
        {
            await using var b = await TemporaryAccount.CreateAsync(harness, "domd");
            using var added = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{a.Slug}/domains", new { hostname = domain });
            id = (await AccountApi.ReadAsync(added, HttpStatusCode.Created)).GetProperty("id").GetString()!;
            using var taken = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{b.Slug}/domains", new { hostname = domain });
            Assert.Equal("hostname", await AccountApi.ProblemFieldAsync(taken, HttpStatusCode.Conflict));
            await harness.CloudflareAsync(HttpMethod.Post, $"__emulator/{Zone}/custom_hostnames/{id}/verify");
        }
        var (lookup, _) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/custom_hostnames/{id}");
        Assert.Equal(HttpStatusCode.NotFound, lookup);
        using var gone = await OnDomainAsync(domain, null);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task An_accounts_owner_manages_its_domains_with_its_token_and_no_one_else_can()
    {
        await using var a = await TemporaryAccount.CreateAsync(harness, "domf");
        await using var b = await TemporaryAccount.CreateAsync(harness, "domg");
        var owner = harness.Tokens.Issue(a.Slug, a.OwnerId, TimeSpan.FromMinutes(10));
        var otherOwner = harness.Tokens.Issue(b.Slug, b.OwnerId, TimeSpan.FromMinutes(10));
        var staffId = await a.Api.CreateIdAsync("users", new { email = $"staff-{Guid.NewGuid():N}@example.co.uk", name = "Staff", role = "staff" });
        var staff = harness.Tokens.Issue(a.Slug, staffId, TimeSpan.FromMinutes(10));
        var domain = $"own-{Guid.NewGuid():N}"[..16] + ".example.co.uk";

        using (var byStaff = await OwnDomainsAsync(HttpMethod.Post, "", staff, new { hostname = domain }))
        {
            Assert.Equal("authorization", await AccountApi.ProblemFieldAsync(byStaff, HttpStatusCode.Forbidden));
        }
        using (var added = await OwnDomainsAsync(HttpMethod.Post, "", owner, new { hostname = domain }))
        {
            Assert.Equal("pending", (await AccountApi.ReadAsync(added, HttpStatusCode.Created)).GetProperty("status").GetString());
        }
        using (var listed = await OwnDomainsAsync(HttpMethod.Get, "", owner))
        {
            Assert.Equal(domain, Assert.Single((await AccountApi.ReadAsync(listed, HttpStatusCode.OK)).GetProperty("items").EnumerateArray()).GetProperty("hostname").GetString());
        }
        // Another account's owner sees none of it and cannot remove it.
        using (var theirs = await OwnDomainsAsync(HttpMethod.Get, "", otherOwner))
        {
            Assert.Empty((await AccountApi.ReadAsync(theirs, HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
        }
        using (var stolen = await OwnDomainsAsync(HttpMethod.Delete, $"/{domain}", otherOwner))
        {
            Assert.Equal(HttpStatusCode.NotFound, stolen.StatusCode);
        }
        using (var noToken = await OwnDomainsAsync(HttpMethod.Get, "", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        }
        using (var removed = await OwnDomainsAsync(HttpMethod.Delete, $"/{domain}", owner))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }
    }

    private async Task<HttpResponseMessage> OwnDomainsAsync(HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(harness.PlatformUrl, "/domains" + path));
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        request.Content = body is null ? null : JsonContent.Create(body);
        return await harness.Http.SendAsync(request);
    }

    [Theory]
    [InlineData("10.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("uk")]
    [InlineData("a_b.example.com")]
    [InlineData("*.example.com")]
    [InlineData("tenant.localhost")]
    [InlineData("localhost")]
    [InlineData("label-of-sixty-four-characters-is-one-too-many-for-dns-aaaaaaaaaaa.example.com")]
    [InlineData("long")]
    public async Task Invalid_host_names_are_refused_naming_the_field_and_nothing_is_stored(string hostname)
    {
        if (hostname == "long")
        {
            hostname = string.Join('.', Enumerable.Repeat(new string('a', 60), 4)) + ".example.com";
        }
        await using var a = await TemporaryAccount.CreateAsync(harness, "dome");
        using var refused = await harness.AdminAsync(HttpMethod.Post, $"/admin/accounts/{a.Slug}/domains", new { hostname });

        Assert.Equal("hostname", await AccountApi.ProblemFieldAsync(refused, HttpStatusCode.BadRequest));
        var (_, list) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/custom_hostnames?per_page=50");
        Assert.DoesNotContain(list.GetProperty("result").EnumerateArray(), h => h.GetProperty("hostname").GetString() == hostname.ToLowerInvariant());
        using var listed = await harness.AdminAsync(HttpMethod.Get, $"/admin/accounts/{a.Slug}/domains");
        Assert.Empty((await AccountApi.ReadAsync(listed, HttpStatusCode.OK)).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task The_custom_hostnames_API_pages_and_filters_its_list()
    {
        var names = Enumerable.Range(0, 3).Select(i => $"page{i}-{Guid.NewGuid():N}"[..18] + ".example.net").ToList();
        var ids = new List<string>();
        foreach (var name in names)
        {
            var (status, created) = await harness.CloudflareAsync(HttpMethod.Post, $"{Zone}/custom_hostnames", new { hostname = name, ssl = new { method = "http", type = "dv" } });
            Assert.Equal(HttpStatusCode.Created, status);
            ids.Add(created.GetProperty("result").GetProperty("id").GetString()!);
        }
        try
        {
            var (_, one) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/custom_hostnames?hostname={names[1]}");
            Assert.Equal(names[1], Assert.Single(one.GetProperty("result").EnumerateArray()).GetProperty("hostname").GetString());
            var (_, page) = await harness.CloudflareAsync(HttpMethod.Get, $"{Zone}/custom_hostnames?per_page=2&page=1");
            Assert.Equal(2, page.GetProperty("result").GetArrayLength());
            Assert.True(page.GetProperty("result_info").GetProperty("total_count").GetInt32() >= 3);
            var (badSsl, error) = await harness.CloudflareAsync(HttpMethod.Post, $"{Zone}/custom_hostnames", new { hostname = "x.example.net", ssl = new { method = "email" } });
            Assert.Equal(HttpStatusCode.BadRequest, badSsl);
            Assert.StartsWith("ssl.method:", error.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var id in ids)
            {
                await harness.CloudflareAsync(HttpMethod.Delete, $"{Zone}/custom_hostnames/{id}");
            }
        }
    }

    [Fact]
    public async Task The_residency_report_flags_a_custom_hostname_not_pinned_to_the_UK_region()
    {
        var name = $"unpinned-{Guid.NewGuid():N}"[..20] + ".example.net";
        var (_, created) = await harness.CloudflareAsync(HttpMethod.Post, $"{Zone}/custom_hostnames", new { hostname = name, ssl = new { method = "txt", type = "dv" } });
        var id = created.GetProperty("result").GetProperty("id").GetString()!;
        try
        {
            Assert.Contains(await ViolationsAsync(), v => v.Contains(name, StringComparison.Ordinal));
            var (pinned, _) = await harness.CloudflareAsync(HttpMethod.Post, $"{Zone}/addressing/regional_hostnames", new { hostname = name, region_key = "gb" });
            Assert.Equal(HttpStatusCode.OK, pinned);
            Assert.DoesNotContain(await ViolationsAsync(), v => v.Contains(name, StringComparison.Ordinal));
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Delete, $"{Zone}/custom_hostnames/{id}");
        }
    }

    private async Task<IReadOnlyList<string>> ViolationsAsync()
    {
        var (_, report) = await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/residency");
        return [.. report.GetProperty("result").GetProperty("violations").EnumerateArray().Select(v => v.GetString()!)];
    }

    /// <summary>A list of clients through the platform, addressed by host name, as a browser on that domain would send it.</summary>
    private async Task<HttpResponseMessage> OnDomainAsync(string host, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, "/api/clients"));
        request.Headers.Host = host;
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        return await harness.Http.SendAsync(request);
    }
}
