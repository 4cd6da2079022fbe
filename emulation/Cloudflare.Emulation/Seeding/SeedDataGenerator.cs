using System.Globalization;
using System.Text;

namespace Cloudflare.Emulation.Seeding;

/// <summary>
/// Generates realistic, deterministic records for every entity of an account: the same seed always
/// gives the same data (only the ids the API assigns differ). For demos and load tests.
/// </summary>
public sealed class SeedDataGenerator(int seed)
{
    private static readonly string[] FirstNames = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Lily", "Arthur", "Freya", "Muhammad", "Grace", "Oscar", "Sophia", "Charlie", "Evie", "Thomas", "Emily", "Alfie", "Ella", "Jacob", "Poppy", "Freddie", "Daisy", "Henry", "Rosie"];
    private static readonly string[] LastNames = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill"];
    private static readonly string[] Towns = ["London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Edinburgh", "Cardiff", "Belfast", "York", "Norwich", "Exeter", "Bath", "Leicester", "Nottingham"];
    private static readonly string[] Streets = ["High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane", "King Street", "The Green", "Queens Road", "Manor Way"];
    private static readonly string[] CaseTitles = ["Pension transfer", "Mortgage application", "Will and estate planning", "Lasting power of attorney", "ISA review", "Protection review", "Inheritance tax planning", "Retirement income", "Equity release", "Annual review"];
    private static readonly string[] TaskTitles = ["Request statements", "Call provider", "Draft suitability report", "Collect ID documents", "Book review meeting", "Chase signatures", "Submit application", "Check fees"];
    private static readonly string[] Companies = ["Albion Bank", "Northgate Insurance", "Thames Pensions", "Severn Building Society", "Pennine Life", "Caledonian Trust", "Harbour Legal", "Crown Accountants"];
    private static readonly string[] CompanyKinds = ["bank", "insurer", "solicitor", "accountant", "agency", "other"];
    private static readonly string[] Relationships = ["child", "spouse", "parent", "sibling", "other"];
    private static readonly string[] Roles = ["admin", "manager", "staff", "staff", "staff", "readonly"];

    /// <summary>An account's own generator: seeded by its name, so it gets the same data every time and other accounts other data.</summary>
    public static SeedDataGenerator ForAccount(string account) =>
        new(BitConverter.ToInt32(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(account))));

    public SeedData Generate(SeedSize size)
    {
        var random = new Random(seed);
        var users = Users(random, Math.Max(3, size.Clients / 50));
        var clients = new List<SeedRecord>();
        var dependants = new List<SeedRecord>();
        var cases = new List<SeedRecord>();
        var tasks = new List<SeedRecord>();
        var documents = new List<SeedDocument>();
        var companies = Enumerable.Range(0, Math.Max(2, size.Clients / 20)).Select(i => new SeedRecord(new Dictionary<string, object?>
        {
            ["name"] = $"{Pick(random, Companies)} {Pick(random, Towns)} {i + 1}",
            ["kind"] = Pick(random, CompanyKinds),
            ["phone"] = Phone(random),
        })).ToList();
        var individuals = Enumerable.Range(0, Math.Max(2, size.Clients / 10)).Select(_ => new SeedRecord(
            new Dictionary<string, object?>
            {
                ["firstName"] = Pick(random, FirstNames),
                ["lastName"] = Pick(random, LastNames),
                ["email"] = $"{Guid(random):N}@contacts.example.com",
                ["jobTitle"] = "Adviser",
            },
            new Dictionary<string, SeedReference> { ["companyId"] = new("contact-companies", random.Next(companies.Count)) })).ToList();
        var clientContacts = new List<SeedRecord>();

        for (var c = 0; c < size.Clients; c++)
        {
            var first = Pick(random, FirstNames);
            var last = Pick(random, LastNames);
            clients.Add(new SeedRecord(
                new Dictionary<string, object?>
                {
                    ["name"] = $"{first} {last}",
                    ["email"] = $"{first}.{last}.{c}@example.co.uk".ToLowerInvariant(),
                    ["phone"] = Phone(random),
                    ["status"] = random.Next(10) switch { < 2 => "prospect", < 9 => "active", _ => "archived" },
                    ["dateOfBirth"] = Date(random, 1940, 2000),
                    ["address"] = new Dictionary<string, object?>
                    {
                        ["line1"] = $"{random.Next(1, 200)} {Pick(random, Streets)}",
                        ["city"] = Pick(random, Towns),
                        ["postcode"] = Postcode(random),
                        ["country"] = "GB",
                    },
                },
                new Dictionary<string, SeedReference> { ["assignedTo"] = new("users", random.Next(users.Count)) }));

            for (var d = random.Next(3); d > 0; d--)
            {
                dependants.Add(new SeedRecord(
                    new Dictionary<string, object?> { ["name"] = $"{Pick(random, FirstNames)} {last}", ["relationship"] = Pick(random, Relationships), ["dateOfBirth"] = Date(random, 1950, 2024) },
                    new Dictionary<string, SeedReference> { ["clientId"] = new("clients", c) }));
            }
            if (random.Next(3) == 0)
            {
                clientContacts.Add(new SeedRecord(
                    new Dictionary<string, object?> { ["contactKind"] = "company", ["relationship"] = "provider" },
                    new Dictionary<string, SeedReference> { ["clientId"] = new("clients", c), ["contactId"] = new("contact-companies", random.Next(companies.Count)) }));
            }
            for (var k = random.Next(3); k > 0; k--)
            {
                var caseIndex = cases.Count;
                var status = random.Next(4) switch { 0 => "closed", 1 => "pending", _ => "open" };
                cases.Add(new SeedRecord(
                    new Dictionary<string, object?>
                    {
                        ["title"] = Pick(random, CaseTitles),
                        ["status"] = status,
                        ["priority"] = random.Next(5) == 0 ? "high" : "normal",
                        ["openedAt"] = Date(random, 2020, 2026),
                    },
                    new Dictionary<string, SeedReference> { ["clientId"] = new("clients", c), ["assignedTo"] = new("users", random.Next(users.Count)) }));
                for (var t = random.Next(4); t > 0; t--)
                {
                    tasks.Add(new SeedRecord(
                        new Dictionary<string, object?> { ["title"] = Pick(random, TaskTitles), ["status"] = random.Next(3) switch { 0 => "done", 1 => "doing", _ => "todo" }, ["dueDate"] = Date(random, 2025, 2027) },
                        new Dictionary<string, SeedReference> { ["caseId"] = new("cases", caseIndex) }));
                }
                if (size.WithDocuments && random.Next(3) == 0)
                {
                    var text = $"Suitability report for {first} {last}\nCase: {cases[caseIndex].Fields["title"]}\n{new string('.', random.Next(200, 4000))}\n";
                    documents.Add(new SeedDocument($"report-{caseIndex + 1}.txt", "text/plain", Encoding.UTF8.GetBytes(text), caseIndex, c));
                }
            }
        }

        return new SeedData(seed,
        [
            ("users", users),
            ("contact-companies", companies),
            ("contact-individuals", individuals),
            ("clients", clients),
            ("dependants", dependants),
            ("client-contacts", clientContacts),
            ("cases", cases),
            ("case-tasks", tasks),
        ], documents);
    }

    private static List<SeedRecord> Users(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var first = Pick(random, FirstNames);
            var last = Pick(random, LastNames);
            return new SeedRecord(new Dictionary<string, object?>
            {
                ["email"] = $"{first}.{last}.{i}@firm.example.com".ToLowerInvariant(),
                ["name"] = $"{first} {last}",
                ["role"] = Pick(random, Roles),
            });
        })];

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    private static string Date(Random random, int fromYear, int toYear) =>
        new DateOnly(random.Next(fromYear, toYear + 1), random.Next(1, 13), random.Next(1, 29)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Phone(Random random) => $"+44 7{random.Next(100, 999)} {random.Next(100000, 999999)}";

    private static string Postcode(Random random) =>
        $"{(char)('A' + random.Next(26))}{(char)('A' + random.Next(26))}{random.Next(1, 20)} {random.Next(1, 10)}{(char)('A' + random.Next(26))}{(char)('A' + random.Next(26))}";

    private static Guid Guid(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }
}
