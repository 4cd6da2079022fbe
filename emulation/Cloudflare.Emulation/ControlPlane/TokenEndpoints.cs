using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Cloudflare.Emulation.ControlPlane;

/// <summary>
/// Account API tokens, the part R2's S3 credentials need: a token whose policy grants one bucket
/// (resource com.cloudflare.edge.r2.bucket.&lt;account&gt;_&lt;jurisdiction&gt;_&lt;bucket&gt;). Its id is the S3
/// access key id and SHA-256(value) the secret, as Cloudflare derives them. Creating or deleting one
/// redeploys the script bound to the bucket, so the local S3 endpoint accepts exactly the live tokens.
/// </summary>
internal static partial class TokenEndpoints
{
    public static void Map(RouteGroupBuilder account, ControlPlaneStore store, ScriptDeployer deployer)
    {
        account.MapPost("/tokens", async (string accountId, HttpRequest request, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadJsonAsync(request);
            if (body is null || !body.Value.TryGetProperty("name", out var nameElement) || nameElement.Text() is not { Length: > 0 and <= 120 } name)
            {
                return Api.Invalid("name: a token name is required");
            }
            var resources = body.Value.TryGetProperty("policies", out var policies) && policies.ValueKind == JsonValueKind.Array
                ? policies.EnumerateArray().Where(p => p.TryGetProperty("resources", out var r) && r.ValueKind == JsonValueKind.Object)
                    .SelectMany(p => p.GetProperty("resources").EnumerateObject().Select(r => r.Name)).ToList()
                : [];
            if (resources.Count != 1 || BucketResource().Match(resources[0]) is not { Success: true } match || match.Groups["account"].Value != accountId)
            {
                return Api.Invalid($"policies: the emulator issues tokens for exactly one R2 bucket: resources {{\"com.cloudflare.edge.r2.bucket.{accountId}_<jurisdiction>_<bucket>\": \"*\"}}");
            }
            var bucketName = match.Groups["bucket"].Value;
            if (store.Snapshot.Buckets.FirstOrDefault(b => b.Name == bucketName) is not { } bucket || bucket.Jurisdiction != match.Groups["jurisdiction"].Value)
            {
                return Api.Invalid($"policies: no R2 bucket {bucketName} in jurisdiction {match.Groups["jurisdiction"].Value}");
            }
            var value = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30)).Replace('+', '-').Replace('/', '_');
            var record = new ApiTokenRecord(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), name, bucketName,
                Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value))), DateTimeOffset.UtcNow);
            store.Update(s => (s with { Tokens = [.. s.AllTokens, record] }, true));
            await RedeployBucketAsync(store, deployer, bucketName, ct);
            return Api.Ok(new { id = record.Id, name, status = "active", issued_on = record.IssuedOn, value, policies = body.Value.GetProperty("policies") });
        }).WithName("tokens.create");
        account.MapDelete("/tokens/{tokenId}", async (string tokenId, CancellationToken ct) =>
        {
            var token = store.Snapshot.AllTokens.FirstOrDefault(t => t.Id == tokenId);
            if (token is null)
            {
                return Api.NotFound($"token {tokenId}");
            }
            store.Update(s => (s with { Tokens = [.. s.AllTokens.Where(t => t.Id != tokenId)] }, true));
            await RedeployBucketAsync(store, deployer, token.Bucket, ct);
            return Api.Ok(new { id = tokenId });
        }).WithName("tokens.delete");
    }

    private static async Task RedeployBucketAsync(ControlPlaneStore store, ScriptDeployer deployer, string bucket, CancellationToken ct)
    {
        foreach (var script in store.Snapshot.Scripts.Where(s => s.Bindings.Any(b => b.Type == "r2_bucket" && b.BucketName == bucket)))
        {
            await deployer.DeployAsync(script, ct);
        }
    }

    [GeneratedRegex(@"^com\.cloudflare\.edge\.r2\.bucket\.(?<account>[0-9a-f]{32})_(?<jurisdiction>default|eu|fedramp)_(?<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])$")]
    private static partial Regex BucketResource();
}
