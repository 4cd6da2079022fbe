using System.Text.Json;
using Cloudflare.Emulation.Load;

namespace Emulation.Tests.Unit;

/// <summary>The capacity run's history: deterministic, realistic in shape, and its arguments checked before anything runs.</summary>
public sealed class CapacityHistoryTests
{
    [Fact]
    public void The_same_account_year_and_scale_give_the_same_rows_ids_and_bytes()
    {
        var first = new CapacityHistory("account-1", 0.05).Year(3);
        var again = new CapacityHistory("account-1", 0.05).Year(3);

        Assert.Equal(first.Rows, again.Rows);
        Assert.Equal(first.Documents, again.Documents);
        Assert.Equal(first.Documents[0].Content(), again.Documents[0].Content());
        Assert.NotEqual(first.Rows[0], new CapacityHistory("account-1", 0.05).Year(4).Rows[0]);
        Assert.NotEqual(first.Rows[0], new CapacityHistory("account-2", 0.05).Year(3).Rows[0]);
    }

    [Fact]
    public void A_year_holds_every_kind_of_record_with_references_inside_it_and_an_audit_trail()
    {
        var year = new CapacityHistory("account-1", 0.1).Year(1);
        var byTable = year.Rows.GroupBy(r => r.Table).ToDictionary(g => g.Key, g => g.ToList());

        Assert.Equal(CapacityHistory.ClientsPerYear / 10, byTable["clients"].Count);
        Assert.Equal(CapacityHistory.DocumentsPerYear / 10, byTable["documents"].Count);
        foreach (var table in new[] { "users", "client_dependants", "cases", "case_tasks", "contact_companies", "contact_individuals", "audit_events" })
        {
            Assert.True(byTable.ContainsKey(table), table);
        }
        Assert.Equal(year.Rows.Count, year.Rows.Select(r => r.Id).Distinct().Count());
        var caseIds = byTable["cases"].Select(r => r.Id).ToHashSet();
        Assert.All(byTable["case_tasks"], t => Assert.Contains(JsonDocument.Parse(t.Body).RootElement.GetProperty("caseId").GetString()!, caseIds));
        // Every audited record's creation is in the trail.
        var audited = byTable["audit_events"].Select(e => JsonDocument.Parse(e.Body).RootElement).Where(e => e.GetProperty("action").GetString() == "created")
            .Select(e => e.GetProperty("entityId").GetString()).ToHashSet();
        Assert.All(byTable["clients"].Concat(byTable["cases"]).Concat(byTable["documents"]), r => Assert.Contains(r.Id, audited));
        var document = JsonDocument.Parse(byTable["documents"][0].Body).RootElement;
        Assert.Equal(year.Documents[0].Key, document.GetProperty("r2Key").GetString());
        Assert.Equal("account-1", document.GetProperty("tracking").GetProperty("accountId").GetString());
    }

    [Fact]
    public void Document_sizes_are_mostly_small_with_a_long_tail_near_five_gigabytes_in_ten_years_at_full_scale()
    {
        var sizes = new CapacityHistory("account-1", 0.1).Year(1).Documents.Select(d => (double)d.Bytes).Order().ToList();
        var median = sizes[sizes.Count / 2];
        var mean = sizes.Average();

        Assert.InRange(median, 20_000, 30_000);
        Assert.True(sizes[^1] > 20 * median, $"largest {sizes[^1]}, median {median}");
        // Ten years at full scale: ten times the documents of a tenth-scale year, times ten years.
        Assert.InRange(mean * CapacityHistory.DocumentsPerYear * 10, 3e9, 7e9);
    }

    [Theory]
    [InlineData(new[] { "--years", "0" }, "--years")]
    [InlineData(new[] { "--years", "ten" }, "--years")]
    [InlineData(new[] { "--scale", "0" }, "--scale")]
    [InlineData(new[] { "--scale", "2" }, "--scale")]
    [InlineData(new[] { "--account", "account-99" }, "--account")]
    [InlineData(new[] { "--report", "/proc/no-such-folder" }, "--report")]
    [InlineData(new[] { "--yearz", "1" }, "--yearz")]
    public void Bad_arguments_are_refused_naming_the_argument(string[] args, string argument)
    {
        var (options, problem) = CapacityOptions.Parse(args);

        Assert.Null(options);
        Assert.StartsWith(argument + ":", problem);
    }

    [Fact]
    public void Defaults_are_ten_years_at_full_scale_on_the_first_account()
    {
        Assert.Equal(new CapacityOptions(10, 1, "account-1", null), CapacityOptions.Parse([]).Options);
        Assert.Equal(0.1, CapacityOptions.Parse(["--years", "10", "--scale", "0.1"]).Options!.Scale);
    }
}
