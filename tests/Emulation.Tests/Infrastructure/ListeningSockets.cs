using System.Globalization;

namespace Emulation.Tests.Infrastructure;

/// <summary>The TCP ports processes listen on, read from /proc (Linux).</summary>
public static class ListeningSockets
{
    /// <summary>Every (pid, port) where one of <paramref name="pids"/> listens on a TCP socket, IPv4 or IPv6.</summary>
    public static IReadOnlyList<(int Pid, int Port)> Of(IEnumerable<int> pids)
    {
        var portByInode = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the inode.
                if (fields[3] == "0A")
                {
                    portByInode[fields[9]] = int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                }
            }
        }
        var found = new List<(int, int)>();
        foreach (var pid in pids)
        {
            IEnumerable<string> links;
            try
            {
                links = Directory.EnumerateFiles($"/proc/{pid}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "").ToList();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // Gone.
            }
            foreach (var link in links.Where(l => l.StartsWith("socket:[", StringComparison.Ordinal)))
            {
                if (portByInode.TryGetValue(link["socket:[".Length..^1], out var port))
                {
                    found.Add((pid, port));
                }
            }
        }
        return found;
    }
}
