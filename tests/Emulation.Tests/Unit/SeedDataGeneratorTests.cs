using System.Text.Json;
using Cloudflare.Emulation.Seeding;

namespace Emulation.Tests.Unit;

public sealed class SeedDataGeneratorTests
{
    private static string Json(SeedData data) => JsonSerializer.Serialize(new
    {
        entities = data.Entities.Select(e => new { e.Entity, e.Records }),
        documents = data.Documents.Select(d => new { d.Name, d.CaseIndex, d.ClientIndex, Bytes = Convert.ToBase64String(d.Bytes) }),
    });

    [Fact]
    public void The_same_seed_gives_the_same_data()
    {
        Assert.Equal(Json(new SeedDataGenerator(42).Generate(new SeedSize(60))), Json(new SeedDataGenerator(42).Generate(new SeedSize(60))));
    }

    [Fact]
    public void Another_seed_gives_other_data()
    {
        Assert.NotEqual(Json(new SeedDataGenerator(1).Generate(new SeedSize(60))), Json(new SeedDataGenerator(2).Generate(new SeedSize(60))));
    }

    [Fact]
    public void Demo_data_is_the_same_each_time_for_an_account_and_differs_between_accounts()
    {
        Assert.Equal(Json(SeedDataGenerator.ForAccount("account-1").Generate(SeedSize.Demo)), Json(SeedDataGenerator.ForAccount("account-1").Generate(SeedSize.Demo)));
        Assert.NotEqual(Json(SeedDataGenerator.ForAccount("account-1").Generate(SeedSize.Demo)), Json(SeedDataGenerator.ForAccount("account-2").Generate(SeedSize.Demo)));
    }

    [Fact]
    public void Every_entity_gets_records_and_references_point_inside_the_data()
    {
        var data = new SeedDataGenerator(7).Generate(new SeedSize(100));
        Assert.Equal(100, data.Count("clients"));
        Assert.All(data.Entities, e => Assert.NotEmpty(e.Records));
        Assert.NotEmpty(data.Documents);
        foreach (var (_, records) in data.Entities)
        {
            foreach (var reference in records.SelectMany(r => r.References?.Values ?? []))
            {
                Assert.InRange(reference.Index, 0, data.Count(reference.Entity) - 1);
            }
        }
    }
}
