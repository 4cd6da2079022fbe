using System.Net.Sockets;
using System.Text;

namespace Emulation.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1 request written byte for byte on a new connection: for heads an HttpClient refuses
/// to send (an invalid Host, a malformed header).
/// </summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="head"/> (request line and headers, without the blank line) and returns the status and body.</summary>
    public static async Task<(int Status, string Body)> SendAsync(Uri origin, string head)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(origin.Host, origin.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.TrimEnd('\r', '\n') + "\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var statusLine = response[..response.IndexOf('\n', StringComparison.Ordinal)];
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), body);
    }
}
