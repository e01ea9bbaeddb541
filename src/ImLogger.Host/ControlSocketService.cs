using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ImLogger.Config;
using ImLogger.Spool;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>Limits of the control socket's service.</summary>
internal sealed record ControlSocketOptions
{
    /// <summary>Environment variable overriding <see cref="RequestTimeout"/>, in seconds (tests use a short one).</summary>
    public const string RequestTimeoutVariable = "IMLOGGER_CONTROL_REQUEST_TIMEOUT";

    /// <summary>Connections served at once; one more is told to try again and closed at once.</summary>
    public int MaxClients { get; init; } = 16;

    /// <summary>How long a client has, from connecting, to send its request line; then it is dropped.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a command may run before the client is told it failed (the spool's reads are short).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the client has to read the answer (a client that stops reading must not hold a slot).</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The defaults, with <see cref="RequestTimeoutVariable"/> applied when set to a positive number of seconds.</summary>
    public static ControlSocketOptions FromEnvironment(Func<string, string?>? environment = null)
    {
        var text = (environment ?? Environment.GetEnvironmentVariable)(RequestTimeoutVariable);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? new ControlSocketOptions { RequestTimeout = TimeSpan.FromSeconds(seconds) }
            : new ControlSocketOptions();
    }
}

/// <summary>The running service's side of <see cref="ControlSocket"/>: each connection served on its own task (at most
/// <see cref="ControlSocketOptions.MaxClients"/> at once), each request on the open spool and the config in force.</summary>
/// <remarks>Clients are served concurrently because one that connects and sends nothing (or reads its answer slowly) must
/// not make the operator's next command wait for it: the issue measured 89 s for <c>spool status</c> behind twelve idle
/// connections when they were served one at a time. The commands themselves only read the spool (short reads under its
/// lock) or call the running service's thread-safe parts, so running two at once is safe.</remarks>
internal sealed class ControlSocketService(
    ConfigHolder holder, LiteDbSpool spool, RunningService running, ILogger<ControlSocketService> logger, ControlSocketOptions? options = null)
    : BackgroundService
{
    private const int MaxRequestBytes = 64 * 1024;
    private readonly ControlSocketOptions _options = options ?? new ControlSocketOptions();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var path = ControlSocket.PathFor(holder.Current);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            // This process holds the spool's lock, so a socket file here is a leftover of a killed run.
            File.Delete(path);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(_options.MaxClients);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            logger.LogWarning("No control socket at {Path} ({Problem}): `imlogger report` and `imlogger spool` will need the service stopped", path, e.Message);
            return;
        }
        logger.LogDebug("Control socket listening at {Path} (at most {Clients} clients at once, {Timeout} s for a request to arrive)",
            path, _options.MaxClients, _options.RequestTimeout.TotalSeconds);
        using var slots = new SemaphoreSlim(_options.MaxClients);
        var serving = new HashSet<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(stoppingToken);
                }
                catch (SocketException e)
                {
                    // Out of file descriptors, say: logged, and the listener goes on after a pause rather than spinning.
                    logger.LogWarning("Control socket: cannot accept a connection ({Problem})", e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken);
                    continue;
                }
                var task = slots.Wait(0) ? ServeAndReleaseAsync(client, slots, stoppingToken) : RefuseAsync(client);
                lock (serving)
                {
                    serving.RemoveWhere(t => t.IsCompleted);
                    serving.Add(task);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            try { File.Delete(path); }
            catch (IOException) { }
            Task[] remaining;
            lock (serving) remaining = [.. serving];
            await Task.WhenAll(remaining); // each ends on its own deadlines, or at once on the stopping token
        }
    }

    private async Task ServeAndReleaseAsync(Socket client, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        await Task.Yield(); // the accept loop goes back to accepting at once
        string? unread = null;
        try
        {
            using (client) unread = await ServeAsync(client, stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // An operator's command must never take the service down: whatever goes wrong is logged, and others are served.
            logger.LogWarning("Control socket: {Problem}", e.Message);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            slots.Release();
        }
        // Logged once the slot is free again (a test waits for this line before filling the slots).
        if (unread is not null) logger.LogDebug("Control socket: the operator's command went away before its answer was read ({Problem})", unread);
    }

    /// <summary>Tells a client beyond <see cref="ControlSocketOptions.MaxClients"/> to try again, without waiting for it.</summary>
    private async Task RefuseAsync(Socket client)
    {
        using (client)
        {
            logger.LogWarning("Control socket: {Clients} clients are already connected; one more was told to try again", _options.MaxClients);
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await using var stream = new NetworkStream(client, ownsSocket: false);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(
                    $"2 imlogger: the running service is already serving {_options.MaxClients} commands; try again in a few seconds\nx 75\n"), deadline.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                logger.LogDebug("Control socket: the refused client went away ({Problem})", e.Message);
            }
        }
    }

    /// <returns>Why the answer could not be written, if the client went away; null otherwise.</returns>
    private async Task<string?> ServeAsync(Socket client, CancellationToken stoppingToken)
    {
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var output = new StringWriter();
        var errors = new StringWriter();
        int code;
        string line;
        using (var requestDeadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            requestDeadline.CancelAfter(_options.RequestTimeout);
            try
            {
                line = await ReadLineAsync(stream, requestDeadline.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Control socket: a client sent no request within {Timeout} s; dropped", _options.RequestTimeout.TotalSeconds);
                return null;
            }
            catch (InvalidDataException e)
            {
                logger.LogWarning("Control socket: {Problem}; refused", e.Message);
                return await ReplyAsync(stream, [], [$"imlogger: {e.Message}"], 64, stoppingToken);
            }
        }
        try
        {
            var commandLine = JsonSerializer.Deserialize<string[]>(line) ?? [];
            if (commandLine.Length == 0 || !ControlSocket.Commands.TryGetValue(commandLine[0], out var command))
            {
                errors.WriteLine($"imlogger: the control socket runs only {string.Join(", ", ControlSocket.Commands.Keys)}");
                code = 64;
            }
            else
            {
                // Monitoring runs check-server every minute or so: not worth a line each time.
                logger.Log(commandLine[0] == "check-server" ? LogLevel.Debug : LogLevel.Information,
                    "Control socket: running `imlogger {Command}` for an operator", string.Join(' ', commandLine));
                var args = ImLoggerCommandLine.Parse(commandLine).Arguments; // the same parser as the command line's
                code = await Task.Run(() => command(holder.Current, args, spool, new Terminal(output, errors), running), stoppingToken)
                    .WaitAsync(_options.CommandTimeout, stoppingToken);
            }
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidDataException)
        {
            errors.WriteLine($"imlogger: {e.Message}");
            code = 64;
        }
        catch (TimeoutException)
        {
            logger.LogWarning("Control socket: the operator's command ran for more than {Timeout} s; its client was told it failed", _options.CommandTimeout.TotalSeconds);
            errors.WriteLine($"imlogger: the command took more than {_options.CommandTimeout.TotalSeconds} s in the running service; its log may say why");
            code = 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Control socket: the operator's command failed: {Problem}", e.Message);
            errors.WriteLine($"imlogger: the command failed in the running service ({e.GetType().Name}: {e.Message}); its log has the details");
            code = 1;
        }
        return await ReplyAsync(stream, Lines(output), Lines(errors), code, stoppingToken);
    }

    private async Task<string?> ReplyAsync(NetworkStream stream, IEnumerable<string> output, IEnumerable<string> errors, int code, CancellationToken stoppingToken)
    {
        var reply = new StringBuilder();
        foreach (var l in output) reply.Append("1 ").Append(l).Append('\n');
        foreach (var l in errors) reply.Append("2 ").Append(l).Append('\n');
        reply.Append("x ").Append(code).Append('\n');
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(_options.ReplyTimeout);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(reply.ToString()), deadline.Token);
            return null;
        }
        catch (Exception e) when (e is IOException or SocketException || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            return e.Message;
        }
    }

    private static IEnumerable<string> Lines(StringWriter w) =>
        w.ToString().ReplaceLineEndings("\n").TrimEnd('\n') is { Length: > 0 } text ? text.Split('\n') : [];

    private static async Task<string> ReadLineAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct);
            if (n == 0) throw new IOException("the operator's command closed the connection before sending a request");
            var newline = Array.IndexOf(buffer, (byte)'\n', length, n);
            length += n;
            if (newline >= 0) return Encoding.UTF8.GetString(buffer, 0, newline);
            if (length == buffer.Length) throw new InvalidDataException($"request longer than {MaxRequestBytes} bytes");
        }
    }
}
