using System.Text.Json;

namespace Emulation.Tests.Infrastructure;

/// <summary>One entity's test data: a valid create body, a valid change, a filter that finds it.</summary>
public sealed record EntitySample(object Create, object? Patch, string Filter);

/// <summary>Builds valid records (and what they depend on) for every entity of the account API.</summary>
public sealed class SampleRecords(AccountApi api)
{
    private static string Unique(string prefix) => $"{prefix} {Guid.NewGuid():N}";

    public Task<string> ClientAsync(string? name = null) => api.CreateIdAsync("clients", new { name = name ?? Unique("Client") });

    public async Task<string> CaseAsync(string? clientId = null) =>
        await api.CreateIdAsync("cases", new { clientId = clientId ?? await ClientAsync(), title = Unique("Case"), openedAt = "2026-03-01" });

    public async Task<string> DependantAsync(string clientId) =>
        await api.CreateIdAsync("dependants", new { clientId, name = Unique("Dependant"), relationship = "child" });

    public Task<string> CompanyAsync() => api.CreateIdAsync("contact-companies", new { name = Unique("Bank"), kind = "bank" });

    public Task<string> GroupAsync(string? name = null) => api.CreateIdAsync("groups", new { name = name ?? Unique("Group") });

    public Task<string> UserAsync(string role = "staff") =>
        api.CreateIdAsync("users", new { email = $"{Guid.NewGuid():N}@example.com", name = Unique("User"), role });

    /// <summary>A sample for <paramref name="entity"/>, creating whatever records it refers to.</summary>
    public async Task<EntitySample> ForAsync(string entity)
    {
        switch (entity)
        {
            case "users":
                return new(new { email = $"{Guid.NewGuid():N}@example.com", name = Unique("User"), role = "staff" }, new { name = "Renamed User" }, "role=staff");
            case "groups":
                return new(new { name = Unique("Group") }, new { description = "Handles probate" }, "");
            case "group-members":
                return new(new { groupId = await GroupAsync(), userId = await UserAsync() }, null, "");
            case "clients":
                return new(new { name = Unique("Client"), email = $"{Guid.NewGuid():N}@example.com", status = "prospect" }, new { status = "active" }, "status=prospect");
            case "dependants":
                {
                    var clientId = await ClientAsync();
                    return new(new { clientId, name = Unique("Dependant"), relationship = "child", dateOfBirth = "2015-06-01" }, new { relationship = "other" }, $"clientId={clientId}");
                }
            case "dependant-clients":
                {
                    var clientId = await ClientAsync();
                    return new(new { dependantId = await DependantAsync(clientId), clientId = await ClientAsync() }, null, "");
                }
            case "cases":
                {
                    var clientId = await ClientAsync();
                    return new(new { clientId, title = Unique("Case"), openedAt = "2026-02-03" }, new { status = "closed", closedAt = "2026-04-01" }, $"clientId={clientId}");
                }
            case "case-tasks":
                {
                    var caseId = await CaseAsync();
                    return new(new { caseId, title = Unique("Task"), dueDate = "2026-05-01" }, new { status = "done" }, $"caseId={caseId}");
                }
            case "contact-companies":
                return new(new { name = Unique("Insurer"), kind = "insurer" }, new { phone = "+44 20 7946 0000" }, "kind=insurer");
            case "contact-individuals":
                {
                    var companyId = await CompanyAsync();
                    return new(new { firstName = "Sam", lastName = Unique("Jones"), companyId }, new { jobTitle = "Adviser" }, $"companyId={companyId}");
                }
            case "client-contacts":
                {
                    var clientId = await ClientAsync();
                    return new(new { clientId, contactKind = "company", contactId = await CompanyAsync(), relationship = "lender" }, new { relationship = "insurer" }, $"clientId={clientId}");
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(entity), entity, "no sample");
        }
    }

    public static int Version(JsonElement record) => record.GetProperty("tracking").GetProperty("version").GetInt32();
}
