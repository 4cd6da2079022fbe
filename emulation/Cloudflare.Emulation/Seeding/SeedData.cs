namespace Cloudflare.Emulation.Seeding;

/// <summary>
/// One record to create through the account API. Fields that refer to other seeded records are
/// given as <see cref="References"/> (field → the referenced record's index in its own list) and
/// filled in with the ids the API assigns.
/// </summary>
public sealed record SeedRecord(IReadOnlyDictionary<string, object?> Fields, IReadOnlyDictionary<string, SeedReference>? References = null);

/// <summary>A reference to the <paramref name="Index"/>-th record of <paramref name="Entity"/>.</summary>
public sealed record SeedReference(string Entity, int Index);

/// <summary>A document's metadata and its bytes.</summary>
public sealed record SeedDocument(string Name, string ContentType, byte[] Bytes, int CaseIndex, int ClientIndex);

/// <summary>A whole account's worth of realistic records, in the order they must be created.</summary>
public sealed record SeedData(int Seed, IReadOnlyList<(string Entity, IReadOnlyList<SeedRecord> Records)> Entities, IReadOnlyList<SeedDocument> Documents)
{
    public int Count(string entity) => Entities.FirstOrDefault(e => e.Entity == entity).Records?.Count ?? 0;
}

/// <summary>How big an account to generate.</summary>
public sealed record SeedSize(int Clients, bool WithDocuments = true)
{
    public static readonly SeedSize Demo = new(200);
}
