using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ImLogger.Config;
using ImLogger.Policy;
using ImLogger.Spool;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ImLogger.Host;

/// <summary>What a command may change in the running service besides the spool (null when it reads the spool file itself).</summary>
/// <param name="Policy">The compliance policy in force (spool forget-room).</param>
/// <param name="Seats">The seat ledger (spool release-seat).</param>
/// <param name="Watch">Whether the server side is loaded on each domain (report's first lines, check-server).</param>
/// <param name="Reloads">The live reload (imlogger reload [--confirm]).</param>
internal sealed record RunningService(CompliancePolicy Policy, Seats.SeatLedger Seats, Liveness.AdapterWatch? Watch = null, ConfigReloadService? Reloads = null);

/// <summary>Where a command writes: the console, or the control socket's framed lines.</summary>
internal sealed record Terminal(TextWriter Out, TextWriter Err)
{
    public static Terminal Console { get; } = new(System.Console.Out, System.Console.Error);
}

/// <summary>
/// The operator commands that read the spool (<c>report</c>, <c>spool ...</c>) while <c>imlogger run</c> holds it
/// locked: the running service listens on a Unix socket beside the spool (<c>{spool}.sock</c>, mode 0600, so only
/// its own user and root can use it), runs the command on its open spool and streams the output back. Without a
/// running service the command opens the spool file itself.
/// </summary>
/// <remarks>
/// Protocol, one request per connection: the client writes the command's arguments as one JSON array of strings and a
/// newline; the server answers with lines "1 text" (standard output) and "2 text" (standard error), then "x N", the
/// exit code. Requests are limited to 64 KiB and 10 seconds.
/// </remarks>
internal static class ControlSocket
{
    /// <summary>The spool commands, by name: what the socket serves and what the command line runs directly.</summary>
    /// <remarks>The last argument is the running service's state (null when the command reads the spool file itself).</remarks>
    public static readonly IReadOnlyDictionary<string, Func<ImLoggerConfig, Arguments, LiteDbSpool, Terminal, RunningService?, int>> Commands =
        new Dictionary<string, Func<ImLoggerConfig, Arguments, LiteDbSpool, Terminal, RunningService?, int>>(StringComparer.Ordinal)
        {
            ["report"] = (config, args, spool, terminal, running) => ReportCommand.Run(config, args, spool, terminal, running),
            ["check-server"] = (_, _, _, terminal, running) => CheckServerCommand.Run(terminal, running),
            ["spool"] = SpoolCommand.Run,
            ["reload"] = (_, args, _, terminal, running) => ReloadCommand.Run(args, terminal, running),
        };

    public static string PathFor(ImLoggerConfig config) => config.SpoolPath + ".sock";

    /// <summary>Runs a spool command: through the running service if there is one, on the spool file otherwise.</summary>
    public static async Task<int> RunCommandAsync(ImLoggerConfig config, string[] commandLine, Arguments args)
    {
        if (await TryForwardAsync(config, commandLine) is { } code) return code;
        if (commandLine[0] == "check-server") return CheckServerCommand.Run(Terminal.Console, running: null);
        if (commandLine[0] == "reload") return ReloadCommand.Run(args, Terminal.Console, running: null);
        return SpoolOwnership.AsSpoolOwner(config.SpoolPath, () =>
        {
            if (SpoolKey.OpenForCommand(config) is not { } spool) return 1;
            using (spool)
            {
                try
                {
                    return Commands[commandLine[0]](config, args, spool, Terminal.Console, null);
                }
                catch (InvalidDataException e) // a damaged page met on the way: the message says what to do (salvage)
                {
                    Console.Error.WriteLine($"imlogger: {e.Message}");
                    return 1;
                }
            }
        });
    }

    /// <summary>Sends the command to a running service; null when none listens (the socket is absent or stale).</summary>
    private static async Task<int?> TryForwardAsync(ImLoggerConfig config, string[] commandLine)
    {
        var path = PathFor(config);
        if (!File.Exists(path)) return null;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            await Console.Error.WriteLineAsync($"imlogger: the running service's control socket {path} is not open to this user; " +
                                               "run the command as the service's user (sudo -u imlogger ...) or root");
            return 1;
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return null; // left behind by a service that was killed (nobody answers, the spool is free), or a path too long for a socket
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(commandLine) + "\n"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("x ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(2), out var exit)) return exit;
            if (line.StartsWith("2 ", StringComparison.Ordinal)) await Console.Error.WriteLineAsync(line[2..]);
            else if (line.StartsWith("1 ", StringComparison.Ordinal)) Console.WriteLine(line[2..]);
        }
        await Console.Error.WriteLineAsync($"imlogger: the running service closed {path} before answering; see its log");
        return 1;
    }
}

/// <summary>The running service's side of <see cref="ControlSocket"/>: one request at a time, each on the open spool
/// and the config in force.</summary>
internal sealed class ControlSocketService(ConfigHolder holder, LiteDbSpool spool, RunningService running, ILogger<ControlSocketService> logger) : BackgroundService
{
    private const int MaxRequestBytes = 64 * 1024;

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
            listener.Listen(8);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            logger.LogWarning("No control socket at {Path} ({Problem}): `imlogger report` and `imlogger spool` will need the service stopped", path, e.Message);
            return;
        }
        logger.LogDebug("Control socket listening at {Path}", path);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // An operator's command must never take the service down: whatever goes wrong is logged, and the next one is served.
                try
                {
                    using var client = await listener.AcceptAsync(stoppingToken);
                    await ServeAsync(client, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning("Control socket: {Problem}", e.Message);
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
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var output = new StringWriter();
        var errors = new StringWriter();
        int code;
        try
        {
            var line = await ReadLineAsync(stream, timeout.Token);
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
                var args = Arguments.Parse(commandLine.Skip(1).ToArray());
                code = await Task.Run(() => command(holder.Current, args, spool, new Terminal(output, errors), running), timeout.Token);
            }
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidDataException)
        {
            errors.WriteLine($"imlogger: {e.Message}");
            code = 64;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Control socket: the operator's command failed: {Problem}", e.Message);
            errors.WriteLine($"imlogger: the command failed in the running service ({e.GetType().Name}: {e.Message}); its log has the details");
            code = 1;
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning("Control socket: a request took more than 10 seconds to arrive or run; dropped");
            return;
        }
        var reply = new StringBuilder();
        foreach (var l in Lines(output)) reply.Append("1 ").Append(l).Append('\n');
        foreach (var l in Lines(errors)) reply.Append("2 ").Append(l).Append('\n');
        reply.Append("x ").Append(code).Append('\n');
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(reply.ToString()), stoppingToken);
        }
        catch (IOException e)
        {
            logger.LogDebug("Control socket: the operator's command went away ({Problem})", e.Message);
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
