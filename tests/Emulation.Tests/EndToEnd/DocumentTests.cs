using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Document bytes in the account's R2 bucket, metadata in its D1, and nothing half-written.</summary>
[Collection(HarnessCollection.Name)]
public sealed class DocumentTests(HarnessFixture harness)
{
    private const string Account = "account-1";
    private AccountApi Api => harness.AsOwner(Account);

    private async Task<HttpResponseMessage> UploadAsync(string query, byte[] bytes, string contentType = "application/pdf")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await Api.SendAsync(HttpMethod.Post, $"/api/documents?{query}", content: content);
    }

    [Fact]
    public async Task Bytes_and_checksum_round_trip_through_R2()
    {
        var clientId = await new SampleRecords(Api).ClientAsync();
        var bytes = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var expectedSha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        using var upload = await UploadAsync($"name=contract.pdf&clientId={clientId}", bytes);
        var document = await AccountApi.ReadAsync(upload, HttpStatusCode.Created);
        var id = document.GetProperty("id").GetString()!;
        Assert.Equal(expectedSha, document.GetProperty("sha256").GetString());
        Assert.Equal(bytes.Length, document.GetProperty("size").GetInt32());
        Assert.Equal("application/pdf", document.GetProperty("contentType").GetString());

        using var download = await Api.SendAsync(HttpMethod.Get, $"/api/documents/{id}/content");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(bytes, await download.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/pdf", download.Content.Headers.ContentType?.MediaType);

        Assert.Contains(id, await Api.ListAllIdsAsync("documents", $"clientId={clientId}"));
        var objects = await harness.Supervisor.ListR2Async(HarnessFixture.StackOf(Account), "DOCUMENTS", CancellationToken.None, prefix: $"documents/{id}");
        Assert.Equal(bytes.Length, objects.GetProperty("objects")[0].GetProperty("size").GetInt32());
    }

    [Fact]
    public async Task Metadata_changes_keep_the_checksum_and_deletes_are_soft_and_audited()
    {
        using var upload = await UploadAsync("name=draft.txt", Encoding.UTF8.GetBytes("hello"), "text/plain");
        var document = await AccountApi.ReadAsync(upload, HttpStatusCode.Created);
        var id = document.GetProperty("id").GetString()!;

        using (var rename = await Api.SendAsync(HttpMethod.Patch, $"/api/documents/{id}", new { name = "final.txt" }, ifMatch: "\"1\""))
        {
            var renamed = await AccountApi.ReadAsync(rename, HttpStatusCode.OK);
            Assert.Equal("final.txt", renamed.GetProperty("name").GetString());
            Assert.Equal(document.GetProperty("sha256").GetString(), renamed.GetProperty("sha256").GetString());
        }
        using (var attack = await Api.SendAsync(HttpMethod.Patch, $"/api/documents/{id}", new { sha256 = "0000" }, ifMatch: "\"2\""))
        {
            Assert.Equal("sha256", await AccountApi.ProblemFieldAsync(attack, HttpStatusCode.BadRequest));
        }
        using (var delete = await Api.SendAsync(HttpMethod.Delete, $"/api/documents/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        using (var gone = await Api.SendAsync(HttpMethod.Get, $"/api/documents/{id}/content"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        var trail = await Api.GetJsonAsync($"/api/audit-events?entity=documents&entityId={id}&sort=at");
        Assert.Equal(["created", "updated", "deleted"], trail.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
    }

    [Theory]
    [InlineData("", "application/pdf", "name")]
    [InlineData("name=x.pdf&clientId=00000000-0000-4000-8000-000000000000", "application/pdf", "clientId")]
    [InlineData("name=x.pdf", "not a media type", "content-type")]
    [InlineData("name=x.pdf&colour=red", "application/pdf", "colour")]
    public async Task Bad_uploads_get_400_naming_the_field_and_store_nothing(string query, string contentType, string field)
    {
        var before = await DocumentKeysAsync();
        var content = new ByteArrayContent([1, 2, 3]);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await Api.SendAsync(HttpMethod.Post, $"/api/documents?{query}", content: content);
        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
        Assert.Equal(before, await DocumentKeysAsync());
    }

    [Fact]
    public async Task An_upload_cut_off_mid_stream_leaves_no_object_and_no_metadata()
    {
        var name = $"cut-{Guid.NewGuid():N}.bin";
        var before = await DocumentKeysAsync();

        // Promise 1 MB, send 64 KB, hang up: what a browser losing its connection does.
        var url = Api.Url($"/api/documents?name={name}");
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(url.Host, url.Port);
            var stream = socket.GetStream();
            var token = harness.Tokens.Issue(Account, harness.Owners[Account], TimeSpan.FromMinutes(5));
            var head = $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nAuthorization: Bearer {token}\r\n" +
                       "Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(new byte[64 * 1024]);
            await stream.FlushAsync();
            await Task.Delay(300);
        }

        // The Worker notices the broken stream and removes what it started; give it a moment.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long pending;
        do
        {
            await Task.Delay(200);
            var rows = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf(Account), "DB", "SELECT count(*) AS n FROM documents WHERE name = ?", [name], CancellationToken.None);
            pending = rows.GetProperty("results")[0].GetProperty("n").GetInt64();
        }
        while (pending > 0 && clock.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Equal(0, pending);
        Assert.Equal(before, await DocumentKeysAsync());
    }

    private async Task<IReadOnlyList<string>> DocumentKeysAsync()
    {
        var objects = await harness.Supervisor.ListR2Async(HarnessFixture.StackOf(Account), "DOCUMENTS", CancellationToken.None);
        return [.. objects.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("key").GetString()!).Order(StringComparer.Ordinal)];
    }
}
