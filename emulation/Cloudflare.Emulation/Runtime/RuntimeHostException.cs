namespace Cloudflare.Emulation.Runtime;

/// <summary>The runtime host refused a command or could not be started.</summary>
public class RuntimeHostException(string message, Exception? inner = null) : Exception(message, inner);
