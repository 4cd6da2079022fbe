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

        // Promise 4 MB, send 256 KB, and once the Worker has begun the upload (its pending row is
        // there), hang up: what a browser losing its connection does.
        var url = Api.Url($"/api/documents?name={name}");
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(url.Host, url.Port);
            var stream = socket.GetStream();
            var token = harness.Tokens.Issue(Account, harness.Owners[Account], TimeSpan.FromMinutes(5));
            var head = $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nAuthorization: Bearer {token}\r\n" +
                       "Content-Type: application/octet-stream\r\nContent-Length: 4194304\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(new byte[256 * 1024]);
            await stream.FlushAsync();
            Assert.True(await EventuallyAsync(async () => await PendingRowsAsync(name) == 1, TimeSpan.FromSeconds(10)),
                "the upload never started: no pending row");
        }

        // The Worker notices the broken stream and removes what it started.
        Assert.True(await EventuallyAsync(async () => await PendingRowsAsync(name) == 0, TimeSpan.FromSeconds(10)), "the pending row stayed");
        Assert.Equal(before, await DocumentKeysAsync());
    }

    [Fact]
    public async Task An_upload_abandoned_by_a_crash_is_swept_with_its_object()
    {
        // A document whose upload "crashed" after its bytes reached R2: its row pending since long ago.
        using var upload = await UploadAsync("name=abandoned.bin", RandomNumberGenerator.GetBytes(4096), "application/octet-stream");
        var id = (await AccountApi.ReadAsync(upload, HttpStatusCode.Created)).GetProperty("id").GetString()!;
        Assert.Contains($"documents/{id}", await DocumentKeysAsync());
        await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf(Account), "DB",
            "UPDATE documents SET body = json_set(body, '$.status', 'pending', '$.tracking.createdAt', '2020-01-01T00:00:00.000Z') WHERE id = ?", [id],
            CancellationToken.None);
        using (var hidden = await Api.SendAsync(HttpMethod.Get, $"/api/documents/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode); // pending rows are invisible to reads
        }

        // The next upload sweeps it: row and object gone.
        using (var next = await UploadAsync("name=next.bin", [1, 2, 3], "application/octet-stream"))
        {
            await AccountApi.ReadAsync(next, HttpStatusCode.Created);
        }
        var rows = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf(Account), "DB", "SELECT count(*) AS n FROM documents WHERE id = ?", [id], CancellationToken.None);
        Assert.Equal(0, rows.GetProperty("results")[0].GetProperty("n").GetInt64());
        Assert.DoesNotContain($"documents/{id}", await DocumentKeysAsync());
    }

    private async Task<long> PendingRowsAsync(string name)
    {
        var rows = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf(Account), "DB", "SELECT count(*) AS n FROM documents WHERE name = ?", [name], CancellationToken.None);
        return rows.GetProperty("results")[0].GetProperty("n").GetInt64();
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > within)
            {
                return false;
            }
            await Task.Delay(100);
        }
        return true;
    }

    private async Task<IReadOnlyList<string>> DocumentKeysAsync()
    {
        var objects = await harness.Supervisor.ListR2Async(HarnessFixture.StackOf(Account), "DOCUMENTS", CancellationToken.None);
        return [.. objects.GetProperty("objects").EnumerateArray().Select(o => o.GetProperty("key").GetString()!).Order(StringComparer.Ordinal)];
    }
}
