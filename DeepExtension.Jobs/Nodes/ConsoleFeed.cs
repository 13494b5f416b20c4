using System.Net;
using DeepExtension.Core.Nodes;
using DeepExtension.Core.Runs;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepExtension.Jobs.Nodes;

/// <summary>
/// A worker node's live feed to its console (see <see cref="NodeFeed"/>): while a run trains here, the lines its worker
/// appends to metrics.jsonl and train.log.jsonl are sent, in order and as the files' bytes, to the console's hub at
/// <see cref="NodeFeed.ConsoleUrlKey"/> with the node key. The console answers with the position it holds; nothing
/// moves on before that answer, so after a dropped connection the node reconnects and resends from the last
/// acknowledged position (the files stay on disk meanwhile). Inert where no console URL is configured (the console).
/// </summary>
public sealed class ConsoleFeed : BackgroundService
{
    /// <summary>How often the files of the runs fed are looked at for new lines.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a finished run's last lines are tried before they are left to the shared files.</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    private readonly Uri? _hub;
    private readonly string? _key;
    private readonly ILogger<ConsoleFeed> _logger;
    private readonly List<FedRun> _runs = [];
    private string? _lastProblem;

    public ConsoleFeed(IConfiguration configuration, ILogger<ConsoleFeed> logger)
    {
        _logger = logger;
        _key = configuration[NodeFeed.KeyKey] is { Length: > 0 } key ? key : null;
        if (configuration[NodeFeed.ConsoleUrlKey] is { Length: > 0 } url)
        {
            _hub = Uri.TryCreate(url.TrimEnd('/') + NodeFeed.HubPath, UriKind.Absolute, out var hub) && hub.Scheme is "http" or "https"
                ? hub
                : throw new InvalidOperationException($"{NodeFeed.ConsoleUrlKey} must be an http(s) address, e.g. http://console:8080; it is '{url}'.");
        }
    }

    /// <summary>Whether this node sends live data: a console URL and a node key are configured.</summary>
    public bool Enabled => _hub is not null && _key is not null;

    /// <summary>Sends <paramref name="files"/>' lines from now on; dispose once the run's worker exited (its last lines are sent then).</summary>
    public IDisposable Feed(Guid runId, RunFiles files)
    {
        if (!Enabled) return NoFeed.Instance;
        var run = new FedRun(runId, files);
        lock (_runs) _runs.Add(run);
        return run;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_hub is null) return;
        if (_key is null)
        {
            _logger.LogError("{UrlKey} is set but {KeyKey} is not: this node does not send live data to the console, whose pages see " +
                             "this node's runs through the shared files only. Set {KeyKey} to the console's node key", NodeFeed.ConsoleUrlKey, NodeFeed.KeyKey, NodeFeed.KeyKey);
            return;
        }
        HubConnection? connection = null;
        var failures = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                FedRun[] runs;
                lock (_runs)
                {
                    _runs.RemoveAll(r => r.CompletedUtc is { } done && (r.Drained || DateTime.UtcNow - done > DrainLimit));
                    runs = [.. _runs];
                }
                if (connection is not { State: HubConnectionState.Connected })
                {
                    if (connection is not null)
                    {
                        Report(LogLevel.Warning, LostMessage);
                        await connection.DisposeAsync();
                    }
                    connection = null;
                    try
                    {
                        connection = Connect(_hub, _key);
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                        timeout.CancelAfter(CallTimeout);
                        await connection.StartAsync(timeout.Token);
                        failures = 0;
                        Report(LogLevel.Information, $"Connected to the console's hub at {_hub}: this node sends its runs' metric points and log lines live");
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        if (connection is not null) await connection.DisposeAsync();
                        connection = null;
                        Report(LogLevel.Warning, Refusal(ex));
                        await Task.Delay(Backoff(++failures), stoppingToken);
                        continue;
                    }
                }
                try
                {
                    foreach (var run in runs) await run.SendAsync(connection, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Nothing unacknowledged moved on: the next connection resends from the positions the console answered.
                    _logger.LogDebug(ex, "A call to the console's hub failed");
                    Report(LogLevel.Warning, LostMessage);
                    await connection.DisposeAsync();
                    connection = null;
                    await Task.Delay(Backoff(++failures), stoppingToken);
                    continue;
                }
                await Task.Delay(PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync();
        }
    }

    private const string LostMessage = "Lost the console's hub: resending from the last acknowledged lines once reconnected";

    private static HubConnection Connect(Uri hub, string key) => new HubConnectionBuilder()
        .WithUrl(hub, options => options.Headers[NodeFeed.KeyHeader] = key)
        .Build();

    /// <summary>0.5 s, 1 s, 2 s, then every 5 s: a console restart is picked up within seconds.</summary>
    private static TimeSpan Backoff(int failures) => TimeSpan.FromSeconds(Math.Min(5, 0.5 * Math.Pow(2, Math.Min(failures, 8) - 1)));

    private string Refusal(Exception ex) => (ex as HttpRequestException)?.StatusCode switch
    {
        HttpStatusCode.Unauthorized =>
            $"The console at {_hub} refused this node's key (401): {NodeFeed.KeyKey} must be set on the console (without it, it accepts no node) " +
            "and be the same on this node. Its pages see this node's runs through the shared files only",
        _ => $"Cannot reach the console's hub at {_hub} ({ex.GetType().Name}: {ex.Message}); trying again",
    };

    /// <summary>Logs a state of the connection once, not at every retry.</summary>
    private void Report(LogLevel level, string message)
    {
        if (message == _lastProblem) return;
        _lastProblem = message;
        _logger.Log(level, "{Message}", message);
    }

    private sealed class NoFeed : IDisposable
    {
        public static readonly NoFeed Instance = new();

        public void Dispose()
        {
        }
    }

    /// <summary>A run whose files are fed: its metrics and its log, each with its own position.</summary>
    private sealed class FedRun(Guid runId, RunFiles files) : IDisposable
    {
        private readonly FileCursor _metrics = new(RunFileKind.Metrics, files.MetricsPath);
        private readonly FileCursor _log = new(RunFileKind.Log, files.LogPath);
        private long _completedTicks;

        /// <summary>When the run's worker exited (no more lines will come); null while it trains.</summary>
        public DateTime? CompletedUtc => Interlocked.Read(ref _completedTicks) is > 0 and var ticks ? new DateTime(ticks, DateTimeKind.Utc) : null;

        /// <summary>True once a pass after completion found nothing left to send.</summary>
        public bool Drained { get; private set; }

        public async Task SendAsync(HubConnection connection, CancellationToken cancellationToken)
        {
            var completed = CompletedUtc is not null;
            var nothingLeft = await _metrics.SendAsync(runId, connection, cancellationToken) & await _log.SendAsync(runId, connection, cancellationToken);
            if (completed && nothingLeft) Drained = true;
        }

        public void Dispose() => Interlocked.CompareExchange(ref _completedTicks, DateTime.UtcNow.Ticks, 0);
    }

    /// <summary>
    /// One file's position as the console acknowledged it, and the bytes just before it as this node read them: when
    /// those change (or the file got shorter), the file was replaced (a resume rewrote it) and is sent again from 0.
    /// </summary>
    private sealed class FileCursor(RunFileKind kind, string path)
    {
        private const int TailBytes = 256;
        // Bounds one pass over one file, so other runs' lines are not held up by a long backlog.
        private const int MaxChunksPerPass = 16;

        private long _position;
        private bool _restart;
        private byte[]? _tail;

        /// <summary>Sends what lies after the acknowledged position; true when nothing was left.</summary>
        public async Task<bool> SendAsync(Guid runId, HubConnection connection, CancellationToken cancellationToken)
        {
            for (var i = 0; i < MaxChunksPerPass; i++)
            {
                if (Read() is not { } chunk) return true;
                var (offset, lines) = chunk;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(CallTimeout);
                var ack = await connection.InvokeAsync<NodeLinesAck>(NodeFeed.AppendMethod, new NodeLines(runId, kind, offset, _restart, lines), timeout.Token);
                _restart = false;
                // The console holds exactly what was sent: remember its end. Otherwise (it read ahead from the file, or
                // misses lines before these) go on from where it stands.
                _tail = ack.Position == offset + lines.Length && lines.Length > 0 ? lines[Math.Max(0, lines.Length - TailBytes)..] : null;
                _position = ack.Position;
            }
            return false;
        }

        /// <summary>The whole lines after the position (at most <see cref="NodeFeed.MaxChunkBytes"/>), or null when there are none.</summary>
        private (long Offset, byte[] Lines)? Read()
        {
            try
            {
                return ReadFile();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The file is being replaced or cannot be read right now: the next pass tries again (the connection is fine).
                return null;
            }
        }

        private (long Offset, byte[] Lines)? ReadFile()
        {
            if (!File.Exists(path)) return null;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = stream.Length;
            if (length < _position || !TailMatches(stream))
            {
                _position = 0;
                _tail = null;
                _restart = true;
            }
            if (_tail is null && _position > 0)
            {
                // A position the console answered: the bytes before it as they are now are what later reads compare with.
                var size = (int)Math.Min(TailBytes, _position);
                _tail = new byte[size];
                stream.Seek(_position - size, SeekOrigin.Begin);
                stream.ReadExactly(_tail);
            }
            var available = (int)Math.Min(length - _position, NodeFeed.MaxChunkBytes);
            var buffer = new byte[Math.Max(0, available)];
            stream.Seek(_position, SeekOrigin.Begin);
            stream.ReadExactly(buffer);
            var end = Array.LastIndexOf(buffer, (byte)'\n');
            // A replaced file is announced even before its first line, so the console drops what it held.
            if (end < 0) return _restart ? (_position, []) : null;
            return (_position, buffer[..(end + 1)]);
        }

        private bool TailMatches(FileStream stream)
        {
            if (_tail is null) return true;
            if (_position < _tail.Length) return false;
            var now = new byte[_tail.Length];
            stream.Seek(_position - _tail.Length, SeekOrigin.Begin);
            stream.ReadExactly(now);
            return now.AsSpan().SequenceEqual(_tail);
        }
    }
}
