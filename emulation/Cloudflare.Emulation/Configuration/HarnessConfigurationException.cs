namespace Cloudflare.Emulation.Configuration;

/// <summary>A setting that stops the harness from starting; the message names the setting and the fix.</summary>
public sealed class HarnessConfigurationException(string setting, string problem)
    : Exception($"Invalid setting {setting}: {problem}")
{
    public string Setting { get; } = setting;
}
