using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// Each account's bucket through R2's S3 API with AWSSDK.S3, using the credentials the platform issued
/// at provisioning (and keeps sealed): the same objects as the Worker's R2 binding, and no other bucket.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class R2S3ApiTests(HarnessFixture harness)
{
    private sealed record Credentials(string Endpoint, string Bucket, string AccessKeyId, string SecretAccessKey);

    private async Task<Credentials> CredentialsAsync(string account)
    {
        using var response = await harness.AdminAsync(HttpMethod.Get, $"/admin/accounts/{account}/r2-credentials");
        var body = await AccountApi.ReadAsync(response, HttpStatusCode.OK);
        return new(body.GetProperty("endpoint").GetString()!, body.GetProperty("bucket").GetString()!,
            body.GetProperty("accessKeyId").GetString()!, body.GetProperty("secretAccessKey").GetString()!);
    }

    private static AmazonS3Client Client(Credentials credentials, string? secret = null) =>
        new(new BasicAWSCredentials(credentials.AccessKeyId, secret ?? credentials.SecretAccessKey), new AmazonS3Config
        {
            ServiceURL = credentials.Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "auto",
            // R2 (and Miniflare's S3) take plain signed payloads, not the SDK's streaming checksum trailers.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });

    private async Task<string> UploadThroughWorkerAsync(string account, byte[] bytes)
    {
        var api = harness.AsOwner(account);
        var clientId = await new SampleRecords(api).ClientAsync();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var upload = await api.SendAsync(HttpMethod.Post, $"/api/documents?name=letter.txt&clientId={clientId}", content: content);
        return (await AccountApi.ReadAsync(upload, HttpStatusCode.Created)).GetProperty("id").GetString()!;
    }

    /// <summary>Keys built from every printable ASCII character (and some beyond), as a client may name objects.</summary>
    public static TheoryData<string> AwkwardKeys() =>
    [
        "scratch/plus+equals=quote'parens(star)*",
        "scratch/" + new string([.. Enumerable.Range(33, 94).Select(c => (char)c).Where(c => c is not ('/' or '\\' or '?' or '#'))]),
        "scratch/space and %20 and ?query#hash",
        "scratch/unicode-é-ß-日本-🙂",
        "scratch/double//slash//key",
    ];

    [Theory]
    [MemberData(nameof(AwkwardKeys))]
    public async Task An_object_with_any_key_a_client_can_send_is_written_read_listed_and_deleted(string key)
    {
        var credentials = await CredentialsAsync("account-1");
        using var s3 = Client(credentials);
        var body = $"named {key}";

        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = credentials.Bucket,
            Key = key,
            ContentBody = body,
            ContentType = "text/plain",
            UseChunkEncoding = false,
            DisableDefaultChecksumValidation = true,
        });
        try
        {
            using (var read = await s3.GetObjectAsync(credentials.Bucket, key))
            using (var reader = new StreamReader(read.ResponseStream))
            {
                Assert.Equal(body, await reader.ReadToEndAsync());
            }
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = credentials.Bucket, Prefix = key });
            Assert.Equal(key, Assert.Single(listed.S3Objects).Key);
        }
        finally
        {
            await s3.DeleteObjectAsync(credentials.Bucket, key);
        }
        Assert.Empty((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = credentials.Bucket, Prefix = key })).S3Objects ?? []);
    }

    [Fact]
    public async Task ListBuckets_shows_the_keys_own_bucket_and_no_other_tenants()
    {
        var credentials = await CredentialsAsync("account-1");
        var other = await CredentialsAsync("account-2");
        using var s3 = Client(credentials);

        var buckets = await s3.ListBucketsAsync();

        Assert.Equal([credentials.Bucket], buckets.Buckets.Select(b => b.BucketName));
        Assert.NotEqual(other.Bucket, credentials.Bucket);
        // A wrong secret for the same key id lists nothing: the signature is checked.
        using var forged = Client(credentials, secret: other.SecretAccessKey);
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => forged.ListBucketsAsync());
        Assert.Equal("SignatureDoesNotMatch", refused.ErrorCode);
    }

    [Fact]
    public async Task A_signed_content_type_on_a_request_without_a_body_is_kept_for_multipart_uploads_and_copies()
    {
        var credentials = await CredentialsAsync("account-1");
        using var s3 = Client(credentials);
        var key = $"scratch/multipart-{Guid.NewGuid():N}";
        var copy = key + "-copy";
        try
        {
            var started = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = credentials.Bucket, Key = key, ContentType = "application/pdf" });
            var part = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = credentials.Bucket,
                Key = key,
                UploadId = started.UploadId,
                PartNumber = 1,
                InputStream = new MemoryStream(Encoding.UTF8.GetBytes("one part")),
                UseChunkEncoding = false,
                DisableDefaultChecksumValidation = true,
            });
            await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = credentials.Bucket,
                Key = key,
                UploadId = started.UploadId,
                PartETags = [new PartETag(1, part.ETag)],
            });
            Assert.Equal("application/pdf", (await s3.GetObjectMetadataAsync(credentials.Bucket, key)).Headers.ContentType);

            await s3.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = credentials.Bucket,
                SourceKey = key,
                DestinationBucket = credentials.Bucket,
                DestinationKey = copy,
                MetadataDirective = S3MetadataDirective.REPLACE,
                ContentType = "text/plain",
            });
            Assert.Equal("text/plain", (await s3.GetObjectMetadataAsync(credentials.Bucket, copy)).Headers.ContentType);
        }
        finally
        {
            await s3.DeleteObjectAsync(credentials.Bucket, key);
            await s3.DeleteObjectAsync(credentials.Bucket, copy);
        }
    }

    [Fact]
    public async Task ListMultipartUploads_and_ListParts_show_uploads_in_progress_page_by_page_and_only_to_the_buckets_key()
    {
        var credentials = await CredentialsAsync("account-1");
        using var s3 = Client(credentials);
        var prefix = $"scratch/multi-{Guid.NewGuid():N}/";
        var (first, second) = ($"{prefix}a.bin", $"{prefix}deeper/b+c=d.bin");
        var one = (await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = credentials.Bucket, Key = first })).UploadId;
        var two = (await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = credentials.Bucket, Key = second })).UploadId;
        try
        {
            var sizes = new[] { 5 * 1024 * 1024, 5 * 1024 * 1024, 1234 };
            var etags = new List<string>();
            for (var part = 1; part <= sizes.Length; part++)
            {
                using var bytes = new MemoryStream(new byte[sizes[part - 1]]);
                var uploaded = await s3.UploadPartAsync(new UploadPartRequest { BucketName = credentials.Bucket, Key = first, UploadId = one, PartNumber = part, InputStream = bytes, UseChunkEncoding = false });
                etags.Add(uploaded.ETag);
            }

            var uploads = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket, Prefix = prefix });
            Assert.Equal([(first, one), (second, two)], uploads.MultipartUploads.Select(u => (u.Key, u.UploadId)));
            Assert.True(uploads.MultipartUploads[0].Initiated > DateTime.UtcNow.AddMinutes(-5), $"initiated {uploads.MultipartUploads[0].Initiated:O}");
            var folded = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket, Prefix = prefix, Delimiter = "/" });
            Assert.Equal([first], folded.MultipartUploads.Select(u => u.Key));
            Assert.Equal([$"{prefix}deeper/"], folded.CommonPrefixes);
            // Page by page with the delimiter: a page that ends on a common prefix goes on after it.
            var foldedPages = new List<string>();
            string? marker = null;
            for (var pages = 0; pages < 5; pages++)
            {
                var onePage = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket, Prefix = prefix, Delimiter = "/", MaxUploads = 1, KeyMarker = marker });
                foldedPages.AddRange((onePage.MultipartUploads ?? []).Select(u => u.Key).Concat(onePage.CommonPrefixes ?? []));
                if (onePage.IsTruncated != true)
                {
                    break;
                }
                marker = onePage.NextKeyMarker;
            }
            Assert.Equal([first, $"{prefix}deeper/"], foldedPages);
            var page = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket, Prefix = prefix, MaxUploads = 1 });
            Assert.True(page.IsTruncated);
            var rest = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket, Prefix = prefix, KeyMarker = page.NextKeyMarker, UploadIdMarker = page.NextUploadIdMarker });
            Assert.Equal([second], rest.MultipartUploads.Select(u => u.Key));

            var parts = await s3.ListPartsAsync(new ListPartsRequest { BucketName = credentials.Bucket, Key = first, UploadId = one });
            Assert.Equal([1, 2, 3], parts.Parts.Select(p => p.PartNumber!.Value));
            Assert.Equal(sizes.Select(s => (long)s), parts.Parts.Select(p => p.Size!.Value));
            Assert.Equal(etags, parts.Parts.Select(p => p.ETag));
            var afterFirst = await s3.ListPartsAsync(new ListPartsRequest { BucketName = credentials.Bucket, Key = first, UploadId = one, PartNumberMarker = "1", MaxParts = 1 });
            Assert.Equal([2], afterFirst.Parts.Select(p => p.PartNumber!.Value));
            Assert.True(afterFirst.IsTruncated);

            // Another tenant's key sees none of it; a wrong upload id is NoSuchUpload, as on R2.
            var other = await CredentialsAsync("account-2");
            using var otherS3 = Client(other);
            var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => otherS3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket }));
            Assert.Equal("AccessDenied", refused.ErrorCode);
            var theirs = await otherS3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = other.Bucket, Prefix = prefix });
            Assert.True(theirs.MultipartUploads is null or { Count: 0 }, "the other bucket has none of these uploads");
            // A wrong secret is refused before anything is listed.
            using var forged = Client(credentials, secret: "not-the-secret");
            var unsigned = await Assert.ThrowsAsync<AmazonS3Exception>(() => forged.ListPartsAsync(new ListPartsRequest { BucketName = credentials.Bucket, Key = first, UploadId = one }));
            Assert.Equal("SignatureDoesNotMatch", unsigned.ErrorCode);
            var unsignedUploads = await Assert.ThrowsAsync<AmazonS3Exception>(() => forged.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket }));
            Assert.Equal("SignatureDoesNotMatch", unsignedUploads.ErrorCode);
            var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.ListPartsAsync(new ListPartsRequest { BucketName = credentials.Bucket, Key = second, UploadId = one }));
            Assert.Equal("NoSuchUpload", missing.ErrorCode);

            // A completed upload is listed no more.
            await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = credentials.Bucket,
                Key = first,
                UploadId = one,
                PartETags = [.. etags.Select((etag, i) => new PartETag(i + 1, etag))],
            });
            var after = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = credentials.Bucket, Prefix = prefix });
            Assert.Equal([second], after.MultipartUploads.Select(u => u.Key));
            await s3.DeleteObjectAsync(credentials.Bucket, first);
        }
        finally
        {
            await s3.AbortMultipartUploadAsync(credentials.Bucket, second, two);
        }
    }

    [Fact]
    public async Task A_document_uploaded_through_the_Worker_reads_back_through_S3_and_the_other_way_round()
    {
        var credentials = await CredentialsAsync("account-1");
        Assert.Matches("^[0-9a-f]{32}$", credentials.AccessKeyId);
        using var s3 = Client(credentials);
        var original = Encoding.UTF8.GetBytes($"Dear client, {Guid.NewGuid()}");
        var id = await UploadThroughWorkerAsync("account-1", original);

        using (var read = await s3.GetObjectAsync(credentials.Bucket, $"documents/{id}"))
        using (var buffer = new MemoryStream())
        {
            await read.ResponseStream.CopyToAsync(buffer);
            Assert.Equal(original, buffer.ToArray());
        }
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = credentials.Bucket, Prefix = $"documents/{id}" });
        Assert.Equal($"documents/{id}", Assert.Single(listed.S3Objects).Key);

        // The other way: new bytes written through S3 are what the Worker serves.
        var replaced = Encoding.UTF8.GetBytes($"Revised through S3 {Guid.NewGuid()}");
        // The payload whole and signed, not streamed in signed chunks (R2 refuses those too).
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = credentials.Bucket,
            Key = $"documents/{id}",
            InputStream = new MemoryStream(replaced),
            ContentType = "text/plain",
            UseChunkEncoding = false,
            DisableDefaultChecksumValidation = true,
        });
        using var download = await harness.AsOwner("account-1").SendAsync(HttpMethod.Get, $"/api/documents/{id}/content");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(replaced, await download.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Another_accounts_credentials_get_AccessDenied()
    {
        var mine = await CredentialsAsync("account-1");
        var theirs = await CredentialsAsync("account-2");
        Assert.NotEqual(mine.AccessKeyId, theirs.AccessKeyId);
        var id = await UploadThroughWorkerAsync("account-2", "B's letter"u8.ToArray());

        using var s3 = Client(mine);
        var read = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.GetObjectAsync(theirs.Bucket, $"documents/{id}"));
        Assert.Equal("AccessDenied", read.ErrorCode);
        var write = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = theirs.Bucket,
            Key = "planted.txt",
            ContentBody = "x",
            UseChunkEncoding = false,
            DisableDefaultChecksumValidation = true,
        }));
        Assert.Equal("AccessDenied", write.ErrorCode);
        var list = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = theirs.Bucket }));
        Assert.Equal("AccessDenied", list.ErrorCode);

        // Nor by copying: B's object as the source of a copy into A's own bucket.
        var copy = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.CopyObjectAsync(theirs.Bucket, $"documents/{id}", mine.Bucket, "stolen.txt"));
        Assert.Equal("AccessDenied", copy.ErrorCode);

        // Nothing was planted in B's bucket.
        var objects = await harness.Supervisor.ListR2Async(HarnessFixture.StackOf("account-2"), "DOCUMENTS", CancellationToken.None);
        Assert.DoesNotContain(objects.GetProperty("objects").EnumerateArray(), o => o.GetProperty("key").GetString() == "planted.txt");
    }

    [Fact]
    public async Task A_wrong_secret_or_an_unknown_key_is_refused()
    {
        var mine = await CredentialsAsync("account-1");
        using var wrongSecret = Client(mine, secret: new string('0', 64));
        var signature = await Assert.ThrowsAsync<AmazonS3Exception>(() => wrongSecret.ListObjectsV2Async(new ListObjectsV2Request { BucketName = mine.Bucket }));
        Assert.Equal(HttpStatusCode.Forbidden, signature.StatusCode);

        using var unknown = Client(mine with { AccessKeyId = new string('a', 32) });
        var key = await Assert.ThrowsAsync<AmazonS3Exception>(() => unknown.ListObjectsV2Async(new ListObjectsV2Request { BucketName = mine.Bucket }));
        Assert.Equal("InvalidAccessKeyId", key.ErrorCode);
    }

    [Fact]
    public async Task A_streamed_chunked_upload_is_refused_as_R2_refuses_it_and_stores_nothing()
    {
        var credentials = await CredentialsAsync("account-1");
        using var s3 = Client(credentials);
        var key = $"chunked-{Guid.NewGuid():N}.txt";
        var error = await Assert.ThrowsAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = credentials.Bucket, Key = key, ContentBody = "streamed" }));
        Assert.Equal("NotImplemented", error.ErrorCode);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = credentials.Bucket, Prefix = key });
        Assert.Empty(listed.S3Objects ?? []);
    }

    [Fact]
    public async Task The_secret_is_stored_sealed_not_in_clear()
    {
        var credentials = await CredentialsAsync("account-1");
        using var response = await harness.AdminAsync(HttpMethod.Get, "/admin/accounts/account-1");
        var row = (await AccountApi.ReadAsync(response, HttpStatusCode.OK)).ToString();
        Assert.DoesNotContain(credentials.SecretAccessKey, row, StringComparison.Ordinal);
        Assert.Contains("\"r2SecretSealed\":\"v1.", row, StringComparison.Ordinal);
    }
}
