using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.EndToEnd;

/// <summary>The first isolation promise, end to end: a client created in A exists in A and nowhere else.</summary>
[Collection(HarnessCollection.Name)]
public sealed class TenantIsolationTests(HarnessFixture harness)
{
    private AccountApi Account(string name) => harness.AsOwner(name);

    [Fact]
    public async Task Client_created_in_A_through_the_platform_is_listed_by_A_and_not_by_B()
    {
        var id = await Account("account-1").CreateIdAsync("clients", new { name = "Ada Lovelace" });

        Assert.Contains(id, await Account("account-1").ListAllIdsAsync("clients"));
        Assert.DoesNotContain(id, await Account("account-2").ListAllIdsAsync("clients"));
        using var fromB = await Account("account-2").SendAsync(HttpMethod.Get, $"/api/clients/{id}");
        Assert.Equal(HttpStatusCode.NotFound, fromB.StatusCode);
    }

    [Fact]
    public async Task Client_row_is_in_A_s_D1_file_and_in_no_other_D1_file()
    {
        var id = await Account("account-1").CreateIdAsync("clients", new { name = "Grace Hopper" });

        // In A's primary (and in A's replicas, if replication was ever turned on: they are A's too).
        var ownFiles = D1Files.Of(harness.D1DirectoryOf("account-1"));
        Assert.Contains(ownFiles, file => D1Files.CountRows(file, "clients", id) == 1);

        foreach (var other in new[] { harness.D1DirectoryOf("account-2"), Path.Combine(harness.Supervisor.StackDirectory("platform"), "d1") })
        {
            var files = D1Files.Of(other);
            Assert.NotEmpty(files);
            Assert.All(files, file =>
            {
                Assert.Equal(0, D1Files.CountRows(file, "clients", id));
                Assert.Equal(0, D1Files.CountRows(file, "accounts", id));
            });
        }
    }

    [Fact]
    public async Task Each_account_stack_has_its_own_workerd_process_and_state_directory()
    {
        var stacks = new[] { "platform" }.Concat(HarnessFixture.Accounts.Select(HarnessFixture.StackOf)).Select(n => harness.Supervisor.Find(n)!).ToList();
        Assert.Equal(stacks.Count, stacks.Select(s => s.ProcessId).Distinct().Count());
        Assert.Equal(stacks.Count, stacks.Select(s => s.StateDirectory).Distinct().Count());
        Assert.Equal(2, HarnessFixture.Accounts.Select(harness.D1DirectoryOf).Distinct().Count());
        Assert.All(stacks, s => Assert.StartsWith(harness.StateRoot, s.StateDirectory, StringComparison.Ordinal));

        foreach (var account in HarnessFixture.Accounts)
        {
            using var health = await harness.Http.GetFromJsonAsync<JsonDocument>(new Uri(new Uri(harness.Supervisor.Find(HarnessFixture.StackOf(account))!.Url!), "/healthz"));
            Assert.Equal(account, health!.RootElement.GetProperty("account").GetString());
        }
    }

    [Fact]
    public async Task Unknown_account_gets_404_naming_the_account()
    {
        using var response = await harness.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(harness.PlatformUrl, "/accounts/no-such-firm/api/clients"))
        {
            Headers = { Authorization = new("Bearer", harness.Tokens.Issue("no-such-firm", Guid.NewGuid().ToString(), TimeSpan.FromMinutes(5))) },
        });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("account", body.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("{\"name\": 42}", "name")]
    [InlineData("{\"name\": \"Ok\", \"colour\": \"red\"}", "colour")]
    [InlineData("{\"name\": \"Ok\", \"email\": \"not-an-email\"}", "email")]
    [InlineData("{not json", "body")]
    [InlineData("[1, 2]", "body")]
    [InlineData("{\"name\": \"Ok\", \"status\": \"lost\"}", "status")]
    [InlineData("{\"name\": \"Ok\", \"assignedTo\": \"not-a-uuid\"}", "assignedTo")]
    [InlineData("{\"name\": \"Ok\", \"assignedTo\": \"00000000-0000-4000-8000-000000000000\"}", "assignedTo")]
    [InlineData("{\"name\": \"Ok\", \"address\": {\"line1\": \"1 High St\", \"city\": \"York\", \"postcode\": \"YO1\", \"country\": \"GBR\"}}", "address.country")]
    public async Task Bad_client_input_gets_400_naming_the_field_and_writes_nothing(string json, string field)
    {
        var before = (await Account("account-2").ListAllIdsAsync("clients")).Count;
        using var response = await Account("account-2").SendRawAsync(HttpMethod.Post, "/api/clients", json);

        Assert.Equal(field, await AccountApi.ProblemFieldAsync(response, HttpStatusCode.BadRequest));
        Assert.Equal(before, (await Account("account-2").ListAllIdsAsync("clients")).Count);
    }

    [Fact]
    public async Task Platform_admin_api_refuses_requests_without_the_admin_token()
    {
        using var response = await harness.Http.GetAsync(new Uri(harness.PlatformUrl, "/admin/accounts"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
