using Cloudflare.Emulation.Runtime;
using Cloudflare.Emulation.Supervision;
using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

public sealed class StackIdentityTests
{
    [Fact]
    public void Ids_are_created_once_and_found_again_after_a_restart()
    {
        var dir = Path.Combine(RepositoryPaths.NewStateRoot("identity"), "account-9");
        var first = StackIdentity.LoadOrCreate(dir, "account-9");
        var again = StackIdentity.LoadOrCreate(dir, "account-9");

        Assert.Equal(first, again);
        Assert.Equal("account-9-documents", first.BucketName);
        Assert.NotEqual(first.DatabaseId, StackIdentity.LoadOrCreate(Path.Combine(dir, "..", "account-10"), "account-10").DatabaseId);
    }

    [Theory]
    [InlineData("v20.20.2\n", 20)]
    [InlineData("v22.1.0", 22)]
    public void Node_versions_are_parsed(string output, int major)
    {
        Assert.Equal(major, NodeToolchain.Parse(output)!.Major);
    }

    [Fact]
    public void Garbage_is_not_a_node_version()
    {
        Assert.Null(NodeToolchain.Parse("command not found"));
    }
}
