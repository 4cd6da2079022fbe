using System.Net;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>Records refer only to records that exist; deletes are soft and audited where a firm needs it.</summary>
[Collection(HarnessCollection.Name)]
public sealed class RelationshipTests(HarnessFixture harness)
{
    private AccountApi Api => harness.AsOwner("account-1");

    [Theory]
    [InlineData("dependants", "clientId")]
    [InlineData("cases", "clientId")]
    [InlineData("case-tasks", "caseId")]
    [InlineData("contact-individuals", "companyId")]
    public async Task A_reference_to_a_record_that_does_not_exist_gets_400_naming_the_field(string entity, string field)
    {
        var sample = await new SampleRecords(Api).ForAsync(entity);
        var body = System.Text.Json.JsonSerializer.SerializeToNode(sample.Create)!.AsObject();
        body[field] = Guid.NewGuid().ToString();

        using var response = await Api.SendAsync(HttpMethod.Post, $"/api/{entity}", body);
        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_soft_deleted_client_cannot_be_given_new_cases()
    {
        var clientId = await new SampleRecords(Api).ClientAsync();
        using (await Api.SendAsync(HttpMethod.Delete, $"/api/clients/{clientId}"))
        {
        }
        using var response = await Api.SendAsync(HttpMethod.Post, "/api/cases", new { clientId, title = "Too late", openedAt = "2026-01-01" });
        Assert.Equal("clientId", await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_client_contact_must_point_at_a_contact_of_the_kind_it_names()
    {
        var samples = new SampleRecords(Api);
        var clientId = await samples.ClientAsync();
        var companyId = await samples.CompanyAsync();
        using var wrongKind = await Api.SendAsync(HttpMethod.Post, "/api/client-contacts", new { clientId, contactKind = "individual", contactId = companyId, relationship = "adviser" });
        Assert.Equal("contactId", await AccountApi.ProblemFieldAsync(wrongKind, HttpStatusCode.BadRequest));
        await Api.CreateIdAsync("client-contacts", new { clientId, contactKind = "company", contactId = companyId, relationship = "bank" });
    }

    [Fact]
    public async Task Relationships_are_found_through_their_filters()
    {
        var samples = new SampleRecords(Api);
        var clientId = await samples.ClientAsync();
        var dependantId = await samples.DependantAsync(clientId);
        var otherClient = await samples.ClientAsync();
        var link = await Api.CreateIdAsync("dependant-clients", new { dependantId, clientId = otherClient });
        var caseId = await samples.CaseAsync(clientId);
        var taskId = await Api.CreateIdAsync("case-tasks", new { caseId, title = "Call the bank", dueDate = "2026-06-01" });

        Assert.Equal([dependantId], await Api.ListAllIdsAsync("dependants", $"clientId={clientId}"));
        Assert.Equal([link], await Api.ListAllIdsAsync("dependant-clients", $"dependantId={dependantId}"));
        Assert.Equal([caseId], await Api.ListAllIdsAsync("cases", $"clientId={clientId}"));
        Assert.Equal([taskId], await Api.ListAllIdsAsync("case-tasks", $"caseId={caseId}"));
    }

    [Fact]
    public async Task Deleting_a_group_removes_its_memberships()
    {
        var samples = new SampleRecords(Api);
        var groupId = await samples.GroupAsync();
        await Api.CreateIdAsync("group-members", new { groupId, userId = await samples.UserAsync() });
        using (var delete = await Api.SendAsync(HttpMethod.Delete, $"/api/groups/{groupId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
        Assert.Empty(await Api.ListAllIdsAsync("group-members", $"groupId={groupId}"));
    }

    [Fact]
    public async Task Client_changes_are_soft_deleted_and_audited_with_who_and_which_version()
    {
        var clientId = await new SampleRecords(Api).ClientAsync();
        using (await Api.SendAsync(HttpMethod.Patch, $"/api/clients/{clientId}", new { status = "active" }, ifMatch: "\"1\""))
        {
        }
        using (var delete = await Api.SendAsync(HttpMethod.Delete, $"/api/clients/{clientId}", ifMatch: "\"2\""))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var trail = await Api.GetJsonAsync($"/api/audit-events?entity=clients&entityId={clientId}&sort=at");
        var events = trail.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["created", "updated", "deleted"], events.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal([1, 2, 3], events.Select(e => e.GetProperty("version").GetInt32()));
        Assert.All(events, e => Assert.Equal(harness.Owners["account-1"], e.GetProperty("actor").GetString()));

        // Soft: the row is still in the account's D1, marked deleted, for the compliance record.
        var rows = await harness.Supervisor.QueryD1Async(HarnessFixture.StackOf("account-1"), "DB",
            "SELECT json_extract(body, '$.tracking.deletedBy') AS by FROM clients WHERE id = ?", [clientId], CancellationToken.None);
        Assert.Equal(harness.Owners["account-1"], rows.GetProperty("results")[0].GetProperty("by").GetString());
    }
}
