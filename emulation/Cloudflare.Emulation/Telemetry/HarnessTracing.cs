using System.Diagnostics;

namespace Cloudflare.Emulation.Telemetry;

/// <summary>The harness's own spans (a stack's start, a deploy), beside the local Cloudflare API's requests.</summary>
public static class HarnessTracing
{
    public const string SourceName = "Cloudflare.Emulation";

    public static readonly ActivitySource Source = new(SourceName);
}
