using Aspire.Hosting.ApplicationModel;
using Cloudflare.Emulation.Hosting;
using Cloudflare.Emulation.Supervision;

namespace Emulation.Tests.Unit;

/// <summary>A stack's row uses Aspire's own states where one fits, so WaitFor and the dashboard's filters understand it.</summary>
public sealed class StackRowStateTests
{
    [Theory]
    [InlineData(StackState.Starting, false, "Starting")]
    [InlineData(StackState.Running, false, "Running")]
    [InlineData(StackState.Reloading, false, "Reloading")]
    [InlineData(StackState.Stopped, false, "Exited")]
    [InlineData(StackState.Failed, false, "FailedToStart")]
    [InlineData(StackState.Failed, true, "Exited")]
    public void Each_stack_state_shows_as_a_known_state_where_one_fits(StackState state, bool crashed, string shown)
    {
        var snapshot = StackRows.ToSnapshotState(new StackStatus("acct-acme", "account", state, "/state", Crashed: crashed));

        Assert.Equal(shown, snapshot.Text);
        Assert.Equal(state is StackState.Failed, snapshot.Style == KnownResourceStateStyles.Error);
    }
}
