using System.Net;
using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Hosting;
using Emulation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Emulation.Tests.EndToEnd;

/// <summary>&lt;state root&gt;/endpoints.json names every endpoint of the running harness, and each one answers.</summary>
[Collection(HarnessCollection.Name)]
public sealed class EndpointsFileTests(HarnessFixture harness)
{
    [Fact]
    public async Task Each_stack_row_is_an_Aspire_endpoint_resource_and_accounts_wait_for_the_platform()
    {
        var model = harness.App.Services.GetRequiredService<DistributedApplicationModel>();
        var stacks = model.Resources.OfType<WorkerStackResource>().ToDictionary(s => s.Name);

        // WithReference(platform) hands another resource this URL.
        foreach (var (row, stack) in new[] { ("platform", "platform"), ("account-1", HarnessFixture.StackOf("account-1")) })
        {
            var url = await stacks[row].HttpEndpoint.GetValueAsync(CancellationToken.None);
            Assert.Equal(harness.Supervisor.Find(stack)!.Url, url);
        }
        Assert.All(stacks.Values.Where(s => s.Kind == StackKind.Account), account =>
            Assert.Contains(account.Annotations.OfType<WaitAnnotation>(), w => w.Resource == stacks["platform"]));
    }

    [Fact]
    public async Task Endpoints_json_names_the_platform_the_local_API_the_S3_endpoint_and_every_stack()
    {
        var endpoints = HarnessEndpoints.Read(harness.StateRoot);
        Assert.NotNull(endpoints);
        Assert.Equal(harness.PlatformUrl.ToString().TrimEnd('/'), endpoints.Platform);
        Assert.Equal(harness.ControlPlane.BaseUrl.ToString(), endpoints.CloudflareApi);
        Assert.Equal(harness.ControlPlane.AccountId, endpoints.CloudflareAccountId);
        Assert.Equal(harness.ControlPlane.S3Url.ToString(), endpoints.R2S3);
        Assert.Equal(new Uri(harness.ControlPlane.BaseUrl, "/__emulator").ToString(), endpoints.EmulatorApi);
        var (faults, _) = await harness.CloudflareAsync(HttpMethod.Get, endpoints.EmulatorApi + "/chaos/faults");
        Assert.Equal(HttpStatusCode.OK, faults);
        foreach (var stack in new[] { "platform", HarnessFixture.StackOf("account-1"), HarnessFixture.StackOf("account-2") })
        {
            Assert.Equal(harness.Supervisor.Find(stack)!.Url, endpoints.Stacks[stack]);
        }

        // They answer: the platform's health, the local API to its token.
        using (var health = await harness.Http.GetAsync(new Uri(new Uri(endpoints.Platform!), "/healthz")))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        var (status, _) = await harness.CloudflareAsync(HttpMethod.Get, new Uri(new Uri(endpoints.CloudflareApi!), $"accounts/{endpoints.CloudflareAccountId}/d1/database").ToString());
        Assert.Equal(HttpStatusCode.OK, status);
        // Only stacks that exist: none an account deletion stopped.
        Assert.All(endpoints.Stacks.Keys, name => Assert.NotEqual(Cloudflare.Emulation.Supervision.StackState.Stopped, harness.Supervisor.Find(name)!.State));
        // The tenant host pattern reaches a tenant through the platform.
        Assert.Equal($"http://<slug>.localhost:{harness.PlatformUrl.Port}", endpoints.TenantHost);
    }
}
