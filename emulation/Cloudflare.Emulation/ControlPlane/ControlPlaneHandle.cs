namespace Cloudflare.Emulation.ControlPlane;

/// <summary>Where the running control plane is, once the emulator has started it (null before).</summary>
public sealed class ControlPlaneHandle
{
    public ControlPlaneServer? Server { get; internal set; }
}
