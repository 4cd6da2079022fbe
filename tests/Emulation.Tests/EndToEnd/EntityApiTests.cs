using System.Net;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Create, read, update, delete, list, filter and conflict, for every entity of the account API.</summary>
[Collection(HarnessCollection.Name)]
public sealed class EntityApiTests(HarnessFixture harness)
{
    private AccountApi Api => harness.AsOwner("account-1");

    public static TheoryData<string> Entities =>
    [
        "users", "groups", "group-members", "clients", "dependants", "dependant-clients",
        "cases", "case-tasks", "contact-companies", "contact-individuals", "client-contacts",
    ];

    [Theory]
    [InlineData("clients")]
    [InlineData("cases")]
    public async Task Clients_and_cases_are_soft_deleted_and_audited(string entity)
    {
        var sample = await new SampleRecords(Api).ForAsync(entity);
        var id = await Api.CreateIdAsync(entity, sample.Create);
        using (var delete = await Api.SendAsync(HttpMethod.Delete, $"/api/{entity}/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        using (var gone = await Api.SendAsync(HttpMethod.Get, $"/api/{entity}/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        // Still in the account's D1, marked deleted, by whom and when.
        var table = entity; // clients and cases are stored in tables of their own name
        var rows = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf("account-1"), "DB",
            $"SELECT deleted_at, json_extract(body, '$.tracking.deletedBy') AS deleted_by FROM {table} WHERE id = ?", [id], CancellationToken.None);
        var row = Assert.Single(rows.GetProperty("results").EnumerateArray());
        Assert.False(string.IsNullOrEmpty(row.GetProperty("deleted_at").GetString()));
        Assert.Equal(harness.Owners["account-1"], row.GetProperty("deleted_by").GetString());
        var trail = await Api.GetJsonAsync($"/api/audit-events?entity={entity}&entityId={id}&sort=at");
        Assert.Equal(["created", "deleted"], trail.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
    }

    [Theory]
    [MemberData(nameof(Entities))]
    public async Task Entity_supports_create_read_filter_update_with_if_match_and_delete(string entity)
    {
        var sample = await new SampleRecords(Api).ForAsync(entity);

        using var created = await Api.SendAsync(HttpMethod.Post, $"/api/{entity}", sample.Create);
        var record = await AccountApi.ReadAsync(created, HttpStatusCode.Created);
        var id = record.GetProperty("id").GetString()!;
        Assert.Equal("\"1\"", created.Headers.ETag?.Tag);
        Assert.Equal("account-1", record.GetProperty("tracking").GetProperty("accountId").GetString());

        using (var read = await Api.SendAsync(HttpMethod.Get, $"/api/{entity}/{id}"))
        {
            var again = await AccountApi.ReadAsync(read, HttpStatusCode.OK);
            Assert.Equal(record.GetRawText(), again.GetRawText());
        }
        Assert.Contains(id, await Api.ListAllIdsAsync(entity, sample.Filter));

        if (sample.Patch is not null)
        {
            using (var unconditional = await Api.SendAsync(HttpMethod.Patch, $"/api/{entity}/{id}", sample.Patch))
            {
                Assert.Equal("if-match", await AccountApi.ProblemFieldAsync(unconditional, HttpStatusCode.PreconditionRequired));
            }
            using (var updated = await Api.SendAsync(HttpMethod.Patch, $"/api/{entity}/{id}", sample.Patch, ifMatch: "\"1\""))
            {
                Assert.Equal(2, SampleRecords.Version(await AccountApi.ReadAsync(updated, HttpStatusCode.OK)));
                Assert.Equal("\"2\"", updated.Headers.ETag?.Tag);
            }
            using (var stale = await Api.SendAsync(HttpMethod.Patch, $"/api/{entity}/{id}", sample.Patch, ifMatch: "\"1\""))
            {
                Assert.Equal("if-match", await AccountApi.ProblemFieldAsync(stale, HttpStatusCode.PreconditionFailed));
            }
            Assert.Equal(2, SampleRecords.Version(await Api.GetJsonAsync($"/api/{entity}/{id}")));
        }

        using var deleted = await Api.SendAsync(HttpMethod.Delete, $"/api/{entity}/{id}");
        if (entity == "users")
        {
            // Users are disabled, never deleted: their id stays valid on the records naming them.
            Assert.Equal("method", await AccountApi.ProblemFieldAsync(deleted, HttpStatusCode.MethodNotAllowed));
            return;
        }
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var gone = await Api.SendAsync(HttpMethod.Get, $"/api/{entity}/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        Assert.DoesNotContain(id, await Api.ListAllIdsAsync(entity));
    }

    [Fact]
    public async Task Pages_follow_the_cursor_in_sort_order_without_gaps_or_repeats()
    {
        var prefix = $"Paged {Guid.NewGuid():N}";
        var names = Enumerable.Range(0, 7).Select(i => $"{prefix} {i}").ToList();
        foreach (var name in names.AsEnumerable().Reverse())
        {
            await new SampleRecords(Api).GroupAsync(name);
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Api.GetJsonAsync($"/api/groups?limit=3{(cursor is null ? "" : "&cursor=" + cursor)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(g => g.GetProperty("name").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(names, seen.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Descending_sort_reverses_the_order()
    {
        // Clients of one new user: a list small enough to compare whole, whatever else the account holds.
        var samples = new SampleRecords(Api);
        var userId = await samples.UserAsync();
        foreach (var name in new[] { "Bravo", "Alpha", "Charlie" })
        {
            await Api.CreateIdAsync("clients", new { name, assignedTo = userId });
        }
        string[] Names(System.Text.Json.JsonElement page) => [.. page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

        Assert.Equal(["Alpha", "Bravo", "Charlie"], Names(await Api.GetJsonAsync($"/api/clients?assignedTo={userId}&sort=name")));
        Assert.Equal(["Charlie", "Bravo", "Alpha"], Names(await Api.GetJsonAsync($"/api/clients?assignedTo={userId}&sort=-name")));
    }

    [Theory]
    [InlineData("/api/clients?colour=red", "colour")]
    [InlineData("/api/clients?status=lost", "status")]
    [InlineData("/api/clients?sort=password", "sort")]
    [InlineData("/api/clients?limit=0", "limit")]
    [InlineData("/api/clients?limit=1000", "limit")]
    [InlineData("/api/clients?limit=ten", "limit")]
    [InlineData("/api/clients?cursor=not-a-cursor", "cursor")]
    [InlineData("/api/clients?cursor=WyJ4Il0", "cursor")]
    [InlineData("/api/clients?assignedTo=1;DROP TABLE clients", "assignedTo")]
    [InlineData("/api/clients/not-a-uuid", "id")]
    [InlineData("/api/cases?clientId=' OR 1=1 --", "clientId")]
    public async Task Malformed_queries_get_400_naming_the_parameter(string path, string field)
    {
        using var response = await Api.SendAsync(HttpMethod.Get, path);
        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_cursor_is_only_valid_for_the_sort_it_was_issued_for()
    {
        await new SampleRecords(Api).ClientAsync();
        await new SampleRecords(Api).ClientAsync();
        var page = await Api.GetJsonAsync("/api/clients?sort=name&limit=1");
        var cursor = page.GetProperty("nextCursor").GetString();
        using var response = await Api.SendAsync(HttpMethod.Get, $"/api/clients?sort=-createdAt&cursor={cursor}");
        Assert.Equal("cursor", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Oversized_body_gets_413_and_writes_nothing()
    {
        var name = $"Big {Guid.NewGuid():N}";
        using var response = await Api.SendAsync(HttpMethod.Post, "/api/clients", new { name, notes = new string('x', 70_000) });
        Assert.Equal("body", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.RequestEntityTooLarge));
        var page = await Api.GetJsonAsync("/api/clients?limit=100&sort=-createdAt");
        Assert.DoesNotContain(page.GetProperty("items").EnumerateArray(), c => c.GetProperty("name").GetString() == name);
    }

    [Fact]
    public async Task Duplicates_get_409_naming_the_field()
    {
        var samples = new SampleRecords(Api);
        var name = $"Team {Guid.NewGuid():N}";
        var groupId = await samples.GroupAsync(name);
        using (var duplicate = await Api.SendAsync(HttpMethod.Post, "/api/groups", new { name }))
        {
            Assert.Equal("name", await AccountApi.ProblemFieldAsync(duplicate, HttpStatusCode.Conflict));
        }
        var userId = await samples.UserAsync();
        await Api.CreateIdAsync("group-members", new { groupId, userId });
        using (var again = await Api.SendAsync(HttpMethod.Post, "/api/group-members", new { groupId, userId }))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }
    }
}
