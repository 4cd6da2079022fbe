namespace Cloudflare.Emulation.Hosting;

/// <summary>A dashboard command of a stack row: the same on the AppHost's rows and on rows made at run time.</summary>
internal sealed record StackCommand(string Id, string Label, string Description, string Icon, string? Confirmation = null, bool Highlighted = false);

/// <summary>The commands every Worker stack row offers (account rows all of them, the platform's the restart).</summary>
internal static class StackCommands
{
    public static readonly StackCommand Restart = new("restart-stack", "Restart stack",
        "Restart this stack's workerd; its data and URL stay, no other stack is touched.", "ArrowCounterclockwise", Highlighted: true);

    public static readonly StackCommand Kill = new("kill-stack", "Kill workerd",
        "SIGKILL this stack's workerd, as a machine failure would: it stays crashed until restarted. Other stacks are untouched.",
        "ErrorCircle", "Kill this stack's workerd? Its requests fail until you restart it.");

    public static readonly StackCommand Pause = new("pause-stack", "Pause",
        "SIGSTOP this stack's workerd: requests to it hang (and time out) until it is resumed.", "Pause");

    public static readonly StackCommand Resume = new("resume-stack", "Resume",
        "SIGCONT a paused stack's workerd: it answers again, the requests that waited first.", "Play");

    public static readonly StackCommand IssueOwnerToken = new("issue-owner-token", "Issue owner token",
        "A 12-hour bearer token for this account's owner, for calling the API by hand.", "Key");

    public static readonly StackCommand SeedDemoData = new("seed-demo-data", "Seed demo data",
        "Create 200 realistic clients with dependants, cases, tasks, documents and contacts (same data every time for this account).",
        "DatabaseArrowUp", "Add 200 demo clients (and their records) to this account?");

    public static readonly StackCommand DeleteAccount = new("delete-account", "Delete account",
        "Deprovision this account completely: its Worker, D1, R2 bucket and KV namespace, then its row.", "Delete");
}
