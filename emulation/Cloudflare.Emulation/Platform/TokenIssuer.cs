using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Cloudflare.Emulation.Platform;

/// <summary>
/// The platform's token key (ES256, P-256): account Workers verify tokens with its public half.
/// Generated once per state root, so tokens and data survive a restart of the harness.
/// </summary>
public sealed class TokenIssuer : IDisposable
{
    public const string Issuer = "platform";
    private const string KeyFile = "platform-signing-key.pem";
    private readonly ECDsa _key;

    public TokenIssuer(ECDsa key) => _key = key;

    public static TokenIssuer LoadOrCreate(string stateRoot)
    {
        var path = Path.Combine(stateRoot, KeyFile);
        var key = ECDsa.Create();
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
            return new TokenIssuer(key);
        }
        key.GenerateKey(ECCurve.NamedCurves.nistP256);
        Directory.CreateDirectory(stateRoot);
        var temp = path + ".tmp";
        File.WriteAllText(temp, key.ExportECPrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temp, path, overwrite: true);
        return new TokenIssuer(key);
    }

    /// <summary>The public key as a JWK, the form the account Worker's AUTH_PUBLIC_KEY binding takes.</summary>
    public string PublicJwk()
    {
        var q = _key.ExportParameters(includePrivateParameters: false).Q;
        return JsonSerializer.Serialize(new { kty = "EC", crv = "P-256", x = Base64Url(q.X!), y = Base64Url(q.Y!), alg = "ES256", use = "sig" });
    }

    /// <summary>The private key as a JWK, the form the platform Worker's AUTH_PRIVATE_KEY secret takes.</summary>
    public string PrivateJwk()
    {
        var p = _key.ExportParameters(includePrivateParameters: true);
        return JsonSerializer.Serialize(new { kty = "EC", crv = "P-256", x = Base64Url(p.Q.X!), y = Base64Url(p.Q.Y!), d = Base64Url(p.D!), alg = "ES256" });
    }

    /// <summary>
    /// A user token: for <paramref name="userId"/>, one of the account's users (the account API, /api).
    /// The Workers' rules for tokens (kinds, audiences, longest lifetimes) are in workers/shared/auth.ts.
    /// </summary>
    public string Issue(string accountId, string userId, TimeSpan lifetime) => IssueFor($"account:{accountId}", userId, lifetime);

    /// <summary>A service token: the platform itself calling one account (its users, under /platform), for a few minutes.</summary>
    public string IssueService(string accountId) => IssueFor($"account-service:{accountId}", PlatformSubject, TimeSpan.FromMinutes(2));

    /// <summary>The subject of service tokens: the platform.</summary>
    public const string PlatformSubject = "platform";

    private string IssueFor(string audience, string subject, TimeSpan lifetime)
    {
        // One reading of the clock: two could straddle a second, and exp - iat exceed the lifetime the Workers allow.
        var issuedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return Sign(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = audience,
            ["sub"] = subject,
            ["iat"] = issuedAt,
            ["exp"] = issuedAt + (long)lifetime.TotalSeconds,
        });
    }

    /// <summary>Signs any claims (tests use it to build expired, endless or wrongly scoped tokens).</summary>
    public string Sign(IReadOnlyDictionary<string, object> claims)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "ES256", typ = "JWT" }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signingInput = Encoding.ASCII.GetBytes($"{header}.{payload}");
        // JWS ES256 wants the raw r||s form, which is .NET's IEEE P1363 format.
        var signature = _key.SignData(signingInput, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{header}.{payload}.{Base64Url(signature)}";
    }

    public void Dispose() => _key.Dispose();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
