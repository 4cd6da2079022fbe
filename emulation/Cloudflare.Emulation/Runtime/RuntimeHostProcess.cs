using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using CliWrap;
using Microsoft.Extensions.Logging;

namespace Cloudflare.Emulation.Runtime;

/// <summary>
/// The Node runtime host (emulation/runtime-host/host.mjs) as a child process, driven by one JSON
/// command per stdin line. Closing stdin is the shutdown signal: the host disposes every stack and
/// exits, and since a dying parent closes the pipe too, no workerd outlives the harness.
/// </summary>
public sealed partial class RuntimeHostProcess : IAsyncDisposable
{
    private const string Prefix = "@@host ";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);

    private readonly Channel<string> _commands = Channel.CreateUnbounded<string>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly TaskCompletionSource<HostEvent> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _kill = new();
    private readonly Queue<string> _stderrTail = new();
    private readonly ILogger _logger;
    private long _nextId;
    private CommandTask<CommandResult>? _run;

    public RuntimeHostProcess(ILogger logger) => _logger = logger;

    /// <summary>Raised on the reader thread for every event line (logs, crashes, reloads).</summary>
    public event Action<HostEvent>? EventReceived;

    /// <summary>Raised once when the node process ends, with its exit code (null when it could not run).</summary>
    public event Action<int?>? Exited;

    public int? ProcessId => _run?.ProcessId;

    public bool IsRunning => _run is { Task.IsCompleted: false };

    public async Task StartAsync(string node, string script, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment, string workingDirectory, CancellationToken cancellationToken)
    {
        var command = Cli.Wrap(node)
            .WithArguments([script, .. arguments])
            .WithWorkingDirectory(workingDirectory)
            .WithEnvironmentVariables(environment)
            .WithValidation(CommandResultValidation.None)
            .WithStandardInputPipe(PipeSource.Create(WriteCommandsAsync))
            .WithStandardOutputPipe(PipeTarget.ToDelegate(OnStdout, Encoding.UTF8))
            .WithStandardErrorPipe(PipeTarget.ToDelegate(OnStderr, Encoding.UTF8));

        _run = command.ExecuteAsync(_kill.Token);
        _ = _run.Task.ContinueWith(t => OnExited(t.IsCompletedSuccessfully ? t.Result.ExitCode : null), TaskScheduler.Default);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadyTimeout);
        try
        {
            await _ready.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RuntimeHostException($"The runtime host did not report ready within {ReadyTimeout.TotalSeconds:0} s. {StderrTail()}");
        }
    }

    /// <summary>Sends one command and reads its reply; a refusal becomes a <see cref="RuntimeHostException"/>.</summary>
    public async Task<TReply> SendAsync<TReply>(IHostRequest<TReply> request, CancellationToken cancellationToken)
    {
        var operation = HostProtocol.OperationOf(request.GetType());
        var message = JsonSerializer.SerializeToNode(request, request.GetType(), HostJson.Options)!.AsObject();
        var reply = await SendUntypedAsync(operation, message, cancellationToken);
        try
        {
            return reply.Deserialize<TReply>(HostJson.Options)
                ?? throw new RuntimeHostException($"{operation}: the host's reply was null");
        }
        catch (JsonException ex)
        {
            throw new RuntimeHostException($"{operation}: the host's reply does not fit {typeof(TReply).Name}: {ex.Message}");
        }
    }

    /// <summary>Sends <paramref name="message"/> as operation <paramref name="op"/> as it is (tests send malformed ones).</summary>
    internal async Task<JsonElement> SendUntypedAsync(string op, System.Text.Json.Nodes.JsonObject message, CancellationToken cancellationToken)
    {
        if (!IsRunning)
        {
            throw new RuntimeHostException("The runtime host is not running.");
        }
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        message["id"] = id;
        message["op"] = op;
        await _commands.Writer.WriteAsync(message.ToJsonString(HostJson.Options), cancellationToken);
        try
        {
            return await reply.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _commands.Writer.TryComplete();
        if (_run is not null)
        {
            try
            {
                await _run.Task.WaitAsync(ShutdownGrace);
            }
            catch (TimeoutException)
            {
                _logger.LogWarning("Runtime host did not exit within {Seconds} s; killing it", ShutdownGrace.TotalSeconds);
                await _kill.CancelAsync();
            }
            catch (OperationCanceledException)
            {
                // Already killed.
            }
            try
            {
                await _run.Task;
            }
            catch (OperationCanceledException)
            {
                // CliWrap reports a forceful stop as a cancellation.
            }
        }
        _kill.Dispose();
    }

    private async Task WriteCommandsAsync(Stream stdin, CancellationToken cancellationToken)
    {
        await foreach (var line in _commands.Reader.ReadAllAsync(cancellationToken))
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            await stdin.WriteAsync(bytes, cancellationToken);
            await stdin.FlushAsync(cancellationToken);
        }
    }

    private void OnStdout(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            _logger.LogInformation("runtime host: {Line}", Redacted(line));
            return;
        }
        JsonElement message;
        try
        {
            message = JsonDocument.Parse(line.AsMemory(Prefix.Length)).RootElement;
        }
        catch (JsonException)
        {
            _logger.LogWarning("runtime host sent an unreadable line: {Line}", Redacted(line));
            return;
        }
        if (message.TryGetProperty("id", out var idElement) && idElement.TryGetInt64(out var id))
        {
            if (_pending.TryGetValue(id, out var reply))
            {
                if (message.GetProperty("ok").GetBoolean())
                {
                    reply.TrySetResult(message.GetProperty("result").Clone());
                }
                else
                {
                    reply.TrySetException(new RuntimeHostException(message.GetProperty("error").GetString() ?? "unknown error"));
                }
            }
            return;
        }
        var hostEvent = message.Deserialize<HostEvent>(HostJson.Options)!;
        if (hostEvent.Event == "host-ready")
        {
            if (hostEvent.Protocol == HostProtocol.Version)
            {
                _ready.TrySetResult(hostEvent);
            }
            else
            {
                // A host from another checkout or build: its commands would be read wrongly, so none are sent.
                _ready.TrySetException(new RuntimeHostException(
                    $"The runtime host speaks protocol {hostEvent.Protocol?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}; this harness speaks {HostProtocol.Version}. Its script and the harness must come from the same checkout."));
            }
        }
        EventReceived?.Invoke(hostEvent);
    }

    /// <summary>A line as it may be logged: a stack's control secret (in control events) hidden.</summary>
    internal static string Redacted(string line) => SecretField().Replace(line, "\"secret\":\"(hidden)\"");

    [System.Text.RegularExpressions.GeneratedRegex("\"secret\"\\s*:\\s*\"[^\"]*\"?")]
    private static partial System.Text.RegularExpressions.Regex SecretField();

    private void OnStderr(string line)
    {
        lock (_stderrTail)
        {
            _stderrTail.Enqueue(line);
            if (_stderrTail.Count > 20)
            {
                _stderrTail.Dequeue();
            }
        }
        // Kept for the host's failure message (StderrTail); logged only at debug level, as Node's own warnings land here.
        _logger.LogDebug("runtime host stderr: {Line}", line);
    }

    private void OnExited(int? exitCode)
    {
        var error = new RuntimeHostException($"The runtime host exited (code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}). {StderrTail()}");
        _ready.TrySetException(error);
        foreach (var reply in _pending.Values)
        {
            reply.TrySetException(error);
        }
        Exited?.Invoke(exitCode);
    }

    private string StderrTail()
    {
        lock (_stderrTail)
        {
            return _stderrTail.Count == 0 ? "" : "Last stderr lines:\n" + string.Join('\n', _stderrTail);
        }
    }
}
