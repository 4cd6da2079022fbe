using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloudflare.Emulation.Seeding;

namespace Cloudflare.Emulation.Load;

/// <summary>A row as the account Worker stores it: its table, id, and the record as JSON (tracking inside).</summary>
public sealed record CapacityRow(string Table, string Id, string Body);

/// <summary>A document's bytes, made when written (deterministic from <see cref="Seed"/>), under its R2 key.</summary>
public sealed record CapacityDocument(string Key, int Bytes, int Seed)
{
    public byte[] Content()
    {
        var bytes = new byte[Bytes];
        new Random(Seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>One year of an account's history: its rows (in an order that satisfies references) and its documents.</summary>
public sealed record CapacityYear(int Year, IReadOnlyList<CapacityRow> Rows, IReadOnlyList<CapacityDocument> Documents)
{
    public long DocumentBytes => Documents.Sum(d => (long)d.Bytes);
}

/// <summary>
/// A realistic, deterministic history of one account, year by year, at the system's specified scale
/// (<paramref name="scale"/> 1: about 5 GB of documents in ten years): the seed generator's firm
/// (clients with dependants and contacts, cases with tasks) for each year, plus documents with a
/// log-normal size distribution (most a few tens of KB, a few several MB), and the audit trail of
/// every creation and later change. The same account, year and scale always give the same rows,
/// ids and bytes (ADR 0034).
/// </summary>
public sealed class CapacityHistory(string account, double scale)
{
    /// <summary>Clients a year at full scale (a firm of some 4,000 advisers' users gains this many).</summary>
    public const int ClientsPerYear = 2_000;

    /// <summary>Documents a year at full scale, and their size: median and spread of the log-normal, and its bounds.</summary>
    public const int DocumentsPerYear = 10_000;
    private const double MedianDocumentBytes = 25_000;
    private const double DocumentSigma = 1.2;
    private const int MinDocumentBytes = 2_000;
    private const int MaxDocumentBytes = 25_000_000;

    private static readonly Dictionary<string, string> Tables = new()
    {
        ["users"] = "users",
        ["contact-companies"] = "contact_companies",
        ["contact-individuals"] = "contact_individuals",
        ["clients"] = "clients",
        ["dependants"] = "client_dependants",
        ["client-contacts"] = "client_contacts",
        ["cases"] = "cases",
        ["case-tasks"] = "case_tasks",
    };

    /// <summary>Entities whose changes the account writes to its audit trail.</summary>
    private static readonly HashSet<string> Audited = ["clients", "cases", "documents"];

    public CapacityYear Year(int year)
    {
        if (year < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(year), year, "year: from 1");
        }
        var seed = SeedOf(year);
        var random = new Random(seed);
        var data = new SeedDataGenerator(seed).Generate(new SeedSize(Math.Max(1, (int)(ClientsPerYear * scale)), WithDocuments: false));
        var start = new DateTime(2016 + year, 1, 1, 9, 0, 0, DateTimeKind.Utc);
        var ids = new Dictionary<string, List<string>>();
        var rows = new List<CapacityRow>();
        var audit = new List<CapacityRow>();
        foreach (var (entity, records) in data.Entities)
        {
            var list = ids[entity] = [];
            foreach (var record in records)
            {
                var id = NewId(random);
                list.Add(id);
                var fields = new Dictionary<string, object?>(record.Fields);
                foreach (var (field, reference) in record.References ?? new Dictionary<string, SeedReference>())
                {
                    fields[field] = ids[reference.Entity][reference.Index];
                }
                if (fields.TryGetValue("email", out var email) && email is string text)
                {
                    // Unique across the years, as each year's generator starts its numbering again.
                    fields["email"] = $"y{year}.{text}";
                }
                var created = start.AddMinutes(random.Next(0, 365 * 24 * 60));
                rows.Add(Row(Tables[entity], id, fields, created, random, audit, entity));
            }
        }
        var documents = new List<CapacityDocument>();
        var cases = ids["cases"];
        var casesClients = rows.Where(r => r.Table == "cases").Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("clientId").GetString()!).ToList();
        for (var i = 0; i < Math.Max(1, (int)(DocumentsPerYear * scale)) && cases.Count > 0; i++)
        {
            var id = NewId(random);
            var caseIndex = random.Next(cases.Count);
            var bytes = DocumentSize(random);
            var document = new CapacityDocument($"documents/{id}", bytes, random.Next());
            documents.Add(document);
            var fields = new Dictionary<string, object?>
            {
                ["name"] = $"statement-{year}-{i + 1}.pdf",
                ["contentType"] = "application/pdf",
                ["size"] = bytes,
                ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(document.Content())),
                ["r2Key"] = document.Key,
                ["status"] = "active",
                ["clientId"] = casesClients[caseIndex],
                ["caseId"] = cases[caseIndex],
            };
            rows.Add(Row("documents", id, fields, start.AddMinutes(random.Next(0, 365 * 24 * 60)), random, audit, "documents"));
        }
        rows.AddRange(audit);
        return new CapacityYear(year, rows, documents);
    }

    /// <summary>A record's row, and its audit events: created, and for a few records later updates.</summary>
    private CapacityRow Row(string table, string id, Dictionary<string, object?> fields, DateTime created, Random random, List<CapacityRow> audit, string entity)
    {
        var updates = Audited.Contains(entity) ? random.Next(0, 4) : 0;
        var actor = $"user-{random.Next(1, 40)}";
        var updated = created.AddDays(updates * 7);
        fields["id"] = id;
        fields["tracking"] = new Dictionary<string, object?>
        {
            ["accountId"] = account,
            ["createdAt"] = Iso(created),
            ["createdBy"] = actor,
            ["updatedAt"] = Iso(updated),
            ["updatedBy"] = actor,
            ["version"] = updates + 1,
        };
        if (Audited.Contains(entity))
        {
            for (var version = 1; version <= updates + 1; version++)
            {
                var eventId = NewId(random);
                audit.Add(new CapacityRow("audit_events", eventId, JsonSerializer.Serialize(new
                {
                    id = eventId,
                    entity,
                    entityId = id,
                    action = version == 1 ? "created" : "updated",
                    actor,
                    at = Iso(created.AddDays((version - 1) * 7)),
                    version,
                })));
            }
        }
        return new CapacityRow(table, id, JsonSerializer.Serialize(fields));
    }

    /// <summary>Log-normal around the median, within the bounds (Box–Muller from the seeded generator).</summary>
    private static int DocumentSize(Random random)
    {
        var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return (int)Math.Clamp(MedianDocumentBytes * Math.Exp(DocumentSigma * normal), MinDocumentBytes, MaxDocumentBytes);
    }

    private int SeedOf(int year) =>
        BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{account}/{year}/{scale}"))));

    private static string NewId(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private static string Iso(DateTime at) => at.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
