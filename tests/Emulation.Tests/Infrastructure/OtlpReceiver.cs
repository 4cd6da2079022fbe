using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Emulation.Tests.Infrastructure;

/// <summary>A span as a test reads it: its service (resource), ids (hex), name and attributes (as text).</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string? ParentSpanId, string Name, bool Error, IReadOnlyDictionary<string, string> Attributes);

/// <summary>A log record: its service, severity, text, trace id and attributes.</summary>
public sealed record ReceivedLog(string Service, string Severity, string Body, string? TraceId, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// An OTLP/HTTP receiver on loopback, in the test: what the harness exports to the endpoint it was
/// given — the runtime host's OTLP JSON (every Worker) and .NET's OTLP protobuf (the local Cloudflare
/// API) — read back as spans, log records and metric points. Everything it received stays readable as
/// raw text too, for checks that nothing leaked.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentQueue<ReceivedLog> _logs = new();
    private readonly ConcurrentQueue<JsonElement> _metrics = new();
    private readonly ConcurrentQueue<string> _raw = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    public IReadOnlyCollection<ReceivedLog> Logs => _logs;

    /// <summary>Every export request's body as text (protobuf bodies as their strings' bytes, which carry every attribute value).</summary>
    public IReadOnlyCollection<string> Raw => _raw;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            receiver._raw.Enqueue(Encoding.UTF8.GetString(body));
            var json = request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true;
            switch (signal)
            {
                case "traces" when json:
                    receiver.ReadJsonSpans(JsonDocument.Parse(body).RootElement);
                    break;
                case "traces":
                    receiver.ReadProtobufSpans(body);
                    break;
                case "logs" when json:
                    receiver.ReadJsonLogs(JsonDocument.Parse(body).RootElement);
                    break;
                case "metrics" when json:
                    receiver._metrics.Enqueue(JsonDocument.Parse(body).RootElement.Clone());
                    break;
            }
            return Results.Json(new { });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(address);
        return receiver;
    }

    /// <summary>Waits until the spans received satisfy <paramref name="done"/>; fails with what arrived otherwise.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> done, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var spans = _spans.ToList();
            if (done(spans))
            {
                return spans;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what}: not received within {seconds} s. Received {spans.Count} spans: " +
                    string.Join("; ", spans.TakeLast(40).Select(s => $"{s.Service}/{s.Name} {s.TraceId[..8]}")));
            }
            await Task.Delay(200);
        }
    }

    public async Task<IReadOnlyList<ReceivedLog>> WaitForLogsAsync(Func<ReceivedLog, bool> match, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var logs = _logs.Where(match).ToList();
            if (logs.Count > 0)
            {
                return logs;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what}: not received within {seconds} s. Received {_logs.Count} log records: " +
                    string.Join("; ", _logs.TakeLast(20).Select(l => $"{l.Service}/{l.Severity}: {l.Body}")));
            }
            await Task.Delay(200);
        }
    }

    /// <summary>The latest value of a cumulative counter of a service (0 until one arrived).</summary>
    public long Counter(string service, string metric)
    {
        long value = 0;
        foreach (var export in _metrics)
        {
            foreach (var resource in export.GetProperty("resourceMetrics").EnumerateArray())
            {
                if (ServiceOf(resource) != service)
                {
                    continue;
                }
                foreach (var scope in resource.GetProperty("scopeMetrics").EnumerateArray())
                {
                    foreach (var m in scope.GetProperty("metrics").EnumerateArray())
                    {
                        if (m.GetProperty("name").GetString() == metric && m.TryGetProperty("sum", out var sum))
                        {
                            value = long.Parse(sum.GetProperty("dataPoints")[0].GetProperty("asInt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                        }
                        else if (m.GetProperty("name").GetString() == metric && m.TryGetProperty("histogram", out var histogram))
                        {
                            value = long.Parse(histogram.GetProperty("dataPoints")[0].GetProperty("count").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                        }
                    }
                }
            }
        }
        return value;
    }

    private void ReadJsonSpans(JsonElement root)
    {
        foreach (var resource in root.GetProperty("resourceSpans").EnumerateArray())
        {
            var service = ServiceOf(resource);
            foreach (var scope in resource.GetProperty("scopeSpans").EnumerateArray())
            {
                foreach (var span in scope.GetProperty("spans").EnumerateArray())
                {
                    _spans.Enqueue(new ReceivedSpan(service, span.GetProperty("traceId").GetString()!, span.GetProperty("spanId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() : null, span.GetProperty("name").GetString()!,
                        span.TryGetProperty("status", out var status) && status.TryGetProperty("code", out var code) && code.GetInt32() == 2,
                        JsonAttributes(span)));
                }
            }
        }
    }

    private void ReadJsonLogs(JsonElement root)
    {
        foreach (var resource in root.GetProperty("resourceLogs").EnumerateArray())
        {
            var service = ServiceOf(resource);
            foreach (var scope in resource.GetProperty("scopeLogs").EnumerateArray())
            {
                foreach (var log in scope.GetProperty("logRecords").EnumerateArray())
                {
                    _logs.Enqueue(new ReceivedLog(service, log.GetProperty("severityText").GetString()!, log.GetProperty("body").GetProperty("stringValue").GetString()!,
                        log.TryGetProperty("traceId", out var trace) ? trace.GetString() : null, JsonAttributes(log)));
                }
            }
        }
    }

    private static string ServiceOf(JsonElement resource) =>
        JsonAttributes(resource.GetProperty("resource")).GetValueOrDefault("service.name", "");

    private static Dictionary<string, string> JsonAttributes(JsonElement holder)
    {
        var attributes = new Dictionary<string, string>();
        if (!holder.TryGetProperty("attributes", out var list))
        {
            return attributes;
        }
        foreach (var attribute in list.EnumerateArray())
        {
            var value = attribute.GetProperty("value").EnumerateObject().FirstOrDefault();
            attributes[attribute.GetProperty("key").GetString()!] = value.Value.ValueKind == JsonValueKind.String ? value.Value.GetString()! : value.Value.ToString();
        }
        return attributes;
    }

    // OTLP protobuf (ExportTraceServiceRequest), read with the wire format alone: the few fields a test needs.
    private void ReadProtobufSpans(byte[] body)
    {
        foreach (var resourceSpans in Protobuf.Fields(body).Where(f => f.Number == 1))
        {
            var service = "";
            foreach (var field in Protobuf.Fields(resourceSpans.Bytes))
            {
                if (field.Number == 1)
                {
                    service = ProtobufAttributes(Protobuf.Fields(field.Bytes).Where(f => f.Number == 1)).GetValueOrDefault("service.name", "");
                }
            }
            foreach (var scopeSpans in Protobuf.Fields(resourceSpans.Bytes).Where(f => f.Number == 2))
            {
                foreach (var span in Protobuf.Fields(scopeSpans.Bytes).Where(f => f.Number == 2))
                {
                    var fields = Protobuf.Fields(span.Bytes).ToList();
                    string Hex(int number) => Convert.ToHexStringLower(fields.FirstOrDefault(f => f.Number == number).Bytes.Span);
                    var parent = Hex(4);
                    var status = fields.FirstOrDefault(f => f.Number == 15);
                    var error = status.Bytes.Length > 0 && Protobuf.Fields(status.Bytes).Any(f => f.Number == 3 && f.Value == 2);
                    _spans.Enqueue(new ReceivedSpan(service, Hex(1), Hex(2), parent.Length == 0 ? null : parent,
                        Encoding.UTF8.GetString(fields.First(f => f.Number == 5).Bytes.Span), error, ProtobufAttributes(fields.Where(f => f.Number == 9))));
                }
            }
        }
    }

    private static Dictionary<string, string> ProtobufAttributes(IEnumerable<Protobuf.Field> keyValues)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var keyValue in keyValues)
        {
            var parts = Protobuf.Fields(keyValue.Bytes).ToList();
            var key = Encoding.UTF8.GetString(parts.First(p => p.Number == 1).Bytes.Span);
            var any = parts.FirstOrDefault(p => p.Number == 2);
            var value = any.Bytes.Length == 0 ? default : Protobuf.Fields(any.Bytes).First();
            attributes[key] = value.Number switch
            {
                1 => Encoding.UTF8.GetString(value.Bytes.Span),
                2 => (value.Value != 0).ToString(),
                3 => ((long)value.Value).ToString(System.Globalization.CultureInfo.InvariantCulture),
                4 => BitConverter.UInt64BitsToDouble(value.Value).ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "",
            };
        }
        return attributes;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The protobuf wire format: a message as its fields (varints and fixed numbers as Value, the rest as Bytes).</summary>
    private static class Protobuf
    {
        public readonly record struct Field(int Number, ulong Value, ReadOnlyMemory<byte> Bytes);

        public static IEnumerable<Field> Fields(ReadOnlyMemory<byte> message)
        {
            var position = 0;
            while (position < message.Length)
            {
                var tag = Varint(message.Span, ref position);
                var number = (int)(tag >> 3);
                switch (tag & 7)
                {
                    case 0:
                        yield return new Field(number, Varint(message.Span, ref position), default);
                        break;
                    case 1:
                        yield return new Field(number, BitConverter.ToUInt64(message.Span.Slice(position, 8)), default);
                        position += 8;
                        break;
                    case 2:
                        var length = (int)Varint(message.Span, ref position);
                        yield return new Field(number, 0, message.Slice(position, length));
                        position += length;
                        break;
                    case 5:
                        yield return new Field(number, BitConverter.ToUInt32(message.Span.Slice(position, 4)), default);
                        position += 4;
                        break;
                    default:
                        throw new InvalidDataException($"protobuf wire type {tag & 7} at {position}");
                }
            }
        }

        private static ulong Varint(ReadOnlySpan<byte> bytes, ref int position)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = bytes[position++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }
}
