using System.Net;
using System.Text;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// What the emulated edge does with requests no Worker should see as they are: a malformed Host or
/// MF-CF-Blob is a 400 (workerd alone answers 500), and a body the account Worker refuses unread
/// comes back through the platform as the account's own answer (not a 502).
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class EdgeTests(HarnessFixture harness)
{
    [Theory]
    [InlineData("Host: a@b", "host")]
    [InlineData("Host: account-2%2elocalhost", "host")]
    [InlineData("Host: a b", "host")]
    [InlineData("Host: [::1", "host")]
    [InlineData("MF-CF-Blob: {bad json", "MF-CF-Blob")]
    [InlineData("MF-CF-Blob: 42", "MF-CF-Blob")]
    public async Task A_malformed_host_or_cf_blob_is_a_400_naming_it(string header, string field)
    {
        foreach (var origin in new[] { harness.PlatformUrl, new Uri(harness.Supervisor.Find(HarnessFixture.StackOf("account-1"))!.Url!) })
        {
            var head = header.StartsWith("Host:", StringComparison.Ordinal)
                ? $"GET /api/clients HTTP/1.1\r\n{header}"
                : $"GET /api/clients HTTP/1.1\r\nHost: {origin.Authority}\r\n{header}";
            var (status, body) = await RawHttp.SendAsync(origin, head);
            Assert.True(status == 400, $"{origin} {header}: {status} {body}");
            Assert.Equal(field, JsonDocument.Parse(body).RootElement.GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task A_path_that_looks_like_a_host_does_not_choose_the_host()
    {
        // `//host/path` is a path: were it resolved as a URL, the request line would pick the tenant.
        var platform = harness.PlatformUrl;
        var (status, body) = await RawHttp.SendAsync(platform, $"GET //{platform.Authority}/healthz HTTP/1.1\r\nHost: stranger.example");
        Assert.True(status == 404, $"{status} {body}");
        Assert.Contains("stranger.example", body, StringComparison.Ordinal);

        (status, body) = await RawHttp.SendAsync(platform, $"GET //stranger.example/healthz?x=1 HTTP/1.1\r\nHost: {platform.Authority}");
        Assert.True(status == 404, $"{status} {body}");
        Assert.DoesNotContain("unknown_host", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expect_100_continue_upload_through_the_platform_is_answered_normally()
    {
        var api = harness.AsOwner("account-1");
        using var request = new HttpRequestMessage(HttpMethod.Post, api.Url("/api/clients"))
        {
            Content = new StringContent("{\"name\":\"Expecting\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        request.Headers.Authorization = new("Bearer", harness.Tokens.Issue("account-1", harness.Owners["account-1"], TimeSpan.FromMinutes(5)));
        using var response = await harness.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_large_body_the_account_refuses_unread_comes_back_through_the_platform_as_its_answer()
    {
        var api = harness.AsOwner("account-1");
        for (var attempt = 0; attempt < 5; attempt++)
        {
            // A 5 MB record: the account Worker's body limit answers 413 before reading it.
            var json = JsonSerializer.Serialize(new { name = new string('a', 5_000_000) });
            using (var response = await api.SendRawAsync(HttpMethod.Post, "/api/clients", json))
            {
                Assert.Equal("body", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.RequestEntityTooLarge));
            }
            // A 20 MB upload for a client that does not exist: a 400 before the bytes are read.
            using (var upload = await api.SendAsync(HttpMethod.Post, $"/api/documents?name=big.bin&clientId={Guid.NewGuid()}",
                content: Bytes(20 * 1024 * 1024)))
            {
                Assert.Equal("clientId", await AccountApi.ProblemFieldAsync(upload, HttpStatusCode.BadRequest));
            }
        }
        // The hop still carries a large body the account does read.
        var client = await api.CreateIdAsync("clients", new { name = "Receives a large upload" });
        using var accepted = await api.SendAsync(HttpMethod.Post, $"/api/documents?name=large.bin&clientId={client}", content: Bytes(3 * 1024 * 1024));
        Assert.Equal(3 * 1024 * 1024, (await AccountApi.ReadAsync(accepted, HttpStatusCode.Created)).GetProperty("size").GetInt32());
    }

    private static ByteArrayContent Bytes(int length)
    {
        var content = new ByteArrayContent(new byte[length]);
        content.Headers.ContentType = new("application/octet-stream");
        return content;
    }
}
