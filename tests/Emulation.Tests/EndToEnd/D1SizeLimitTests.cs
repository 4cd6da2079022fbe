using System.Net;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// D1's size limit reached on purpose (a small one set through the chaos API): the account's writes
/// are refused as D1 refuses them and answered 507, nothing of a refused write lands, reads go on,
/// and lifting the limit lets writes in again. Fills an account: disruptive harness.
/// </summary>
[Collection(DisruptiveHarnessCollection.Name)]
public sealed class D1SizeLimitTests(DisruptiveHarnessFixture harness)
{
    [Fact]
    public async Task A_full_database_refuses_writes_with_507_keeps_nothing_of_them_and_serves_reads()
    {
        var stack = HarnessFixture.StackOf("account-2");
        var owner = harness.AsOwner("account-2");
        var size = (await harness.Supervisor.QueryD1Async(stack, "DB", "SELECT 1", [], CancellationToken.None)).GetProperty("meta").GetProperty("size_after").GetInt64();
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/d1-size-limits", new[] { new { stack, maxSizeBytes = size + (32 * 1024) } });
        Assert.True(status == HttpStatusCode.OK, envelope.ToString());
        try
        {
            HttpResponseMessage? refused = null;
            var name = "";
            for (var i = 0; i < 400 && refused is null; i++)
            {
                name = $"Filler {i} {new string('x', 150)}";
                var response = await owner.SendAsync(HttpMethod.Post, "/api/clients", new { name });
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    refused = response;
                }
                else
                {
                    response.Dispose();
                }
            }
            Assert.NotNull(refused);
            using (refused)
            {
                Assert.Equal((HttpStatusCode)507, refused.StatusCode);
                Assert.Equal("database_full", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
            }
            // Nothing of the refused write (client row or audit row) landed; the one before it did.
            var stored = await harness.Supervisor.QueryD1Async(stack, "DB",
                "SELECT (SELECT count(*) FROM clients WHERE json_extract(body, '$.name') = ?) AS refused, (SELECT count(*) FROM clients WHERE json_extract(body, '$.name') LIKE 'Filler 0 %') AS first",
                [name], CancellationToken.None);
            Assert.Equal(0, stored.GetProperty("results")[0].GetProperty("refused").GetInt32());
            Assert.Equal(1, stored.GetProperty("results")[0].GetProperty("first").GetInt32());
            using (var list = await owner.SendAsync(HttpMethod.Get, "/api/clients?limit=5"))
            {
                Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            }
        }
        finally
        {
            await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/d1-size-limits", Array.Empty<object>());
        }
        using var after = await owner.SendAsync(HttpMethod.Post, "/api/clients", new { name = "Room again" });
        Assert.Equal(HttpStatusCode.Created, after.StatusCode);
    }

    [Theory]
    [InlineData("""[{"stack":"no-such-stack","maxSizeBytes":1000}]""", "[0].stack")]
    [InlineData("""[{"stack":"acct-account-1","maxSizeBytes":0}]""", "[0].maxSizeBytes")]
    [InlineData("""[{"stack":"acct-account-1","maxSizeBytes":20000000000}]""", "[0].maxSizeBytes")]
    [InlineData("""[{"stack":"acct-account-1","maxSizeBytes":"big"}]""", "maxSizeBytes")]
    public async Task A_bad_limit_is_refused_naming_its_field(string body, string field)
    {
        var (status, envelope) = await harness.CloudflareAsync(HttpMethod.Post, "/__emulator/chaos/d1-size-limits",
            content: new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(field, envelope.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.Empty((await harness.CloudflareAsync(HttpMethod.Get, "/__emulator/chaos/d1-size-limits")).Envelope.GetProperty("result").EnumerateArray());
    }
}
