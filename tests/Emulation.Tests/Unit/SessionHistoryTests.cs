using Emulation.Tests.Infrastructure;

namespace Emulation.Tests.Unit;

/// <summary>The history checker finds each kind of violation (so a clean result means something).</summary>
public sealed class SessionHistoryTests
{
    private const string B1 = "00000001-00000000-00000001-00000000000000000000000000000000";
    private const string B2 = "00000001-00000000-00000002-00000000000000000000000000000000";

    [Fact]
    public void A_consistent_history_has_no_violations()
    {
        Assert.Empty(SessionHistory.Violations(
        [
            new(1, 1, Write: true, "a", 2, B1),
            new(1, 2, Write: false, "a", 2, B1),
            new(1, 3, Write: false, "b", 1, B2),
            new(2, 1, Write: false, "a", 1, B1),
        ]));
    }

    [Fact]
    public void Reading_older_than_ones_own_write_is_found()
    {
        var violations = SessionHistory.Violations([new(1, 1, true, "a", 3, B2), new(1, 2, false, "a", 2, B2)]);
        Assert.Contains("read-your-writes", Assert.Single(violations));
    }

    [Fact]
    public void Reading_older_than_a_previous_read_is_found()
    {
        var violations = SessionHistory.Violations([new(1, 1, false, "a", 3, B1), new(1, 2, false, "a", 0, B1)]);
        Assert.Contains("monotonic reads", Assert.Single(violations));
    }

    [Fact]
    public void A_bookmark_going_back_is_found()
    {
        var violations = SessionHistory.Violations([new(1, 1, false, "a", 1, B2), new(1, 2, false, "a", 1, B1)]);
        Assert.Contains("bookmark went back", Assert.Single(violations));
    }
}
