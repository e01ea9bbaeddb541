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
/// <param name="Failover">The instance's state towards the server: active or standby (report).</param>
/// <param name="Delivery">The dispatcher (spool retry: waiting deliveries tried now).</param>
internal sealed record RunningService(CompliancePolicy Policy, Seats.SeatLedger Seats, Liveness.AdapterWatch? Watch = null, ConfigReloadService? Reloads = null,
    FailoverWatch? Failover = null, Dispatch.Dispatcher? Delivery = null);

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
/// exit code. Requests are limited to 64 KiB and must arrive within a few seconds (<see cref="ControlSocketOptions"/>);
/// clients are served concurrently, so one that connects and sends nothing delays no one.
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
        if (commandLine[0] == "check-server") return CheckServerCommand.Run(Terminal.Console, running: null, config);
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
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("x ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(2), out var exit)) return exit;
                if (line.StartsWith("2 ", StringComparison.Ordinal)) await Console.Error.WriteLineAsync(line[2..]);
                else if (line.StartsWith("1 ", StringComparison.Ordinal)) Console.WriteLine(line[2..]);
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The service stopped or was killed mid-answer: no "The read operation failed, see inner exception" for the operator.
            await Console.Error.WriteLineAsync($"imlogger: the running service dropped the connection on {path} while answering (it may be " +
                                               "stopping); run the command again, and see the service's log if it repeats");
            return 1;
        }
        await Console.Error.WriteLineAsync($"imlogger: the running service closed {path} before answering; see its log");
        return 1;
    }
}
