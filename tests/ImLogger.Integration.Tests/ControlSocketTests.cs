using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ImLogger.Integration.Tests.Support;

namespace ImLogger.Integration.Tests;

/// <summary>
/// The running service's control socket under clients that misbehave: twelve that connect and send nothing, one that
/// sends a 100 MB request, one that goes away before its answer, and more clients than it serves at once. The operator's
/// <c>spool status</c> is answered throughout, and the idle ones are dropped when the configured (short) request timeout
/// fires. Real imlogger process on real Prosody; the socket spoken to directly, as the CLI does.
/// </summary>
[TestFixture]
public class ControlSocketTests
{
    private const int RequestTimeoutSeconds = 8;

    private static async Task<Socket> ConnectAsync(string path, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
        return socket;
    }

    /// <summary>Sends one request and reads the answer: its exit code and its lines.</summary>
    private static async Task<(int Code, string Text)> AskAsync(string path, CancellationToken ct, params string[] command)
    {
        using var socket = await ConnectAsync(path, ct);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(command) + "\n"), ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = new List<string>();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("x ", StringComparison.Ordinal)) return (int.Parse(line[2..]), string.Join('\n', lines));
            lines.Add(line);
        }
        return (-1, string.Join('\n', lines));
    }

    /// <summary>True while the service keeps the connection open (nothing to read, no end of stream).</summary>
    private static bool StillOpen(Socket socket) => !(socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0);

    private static async Task<int> ReadToEndAsync(Socket socket, CancellationToken ct)
    {
        var buffer = new byte[4096];
        var total = 0;
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, ct) is var n and > 0) total += n;
        }
        catch (SocketException)
        {
        }
        return total;
    }

    [Test, CancelAfter(120_000)]
    public async Task IdleHostileAndExcessClients_DelayNoOnesCommand_AndIdleOnesAreDroppedAtTheRequestTimeout(CancellationToken ct)
    {
        await using var world = await TapDeployment.StartAsync();
        await using var imlogger = ImLoggerProcess.Start("imlogger", new Dictionary<string, string>
        {
            [ImLoggerProcess.SecretVariable] = TapDeployment.Secret,
            ["IMLOGGER_CONTROL_REQUEST_TIMEOUT"] = RequestTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, "run", "--config", world.ConfigPath, "--log-config", Paths.NLogConfig);
        await imlogger.WaitForLineAsync(l => l.Contains("Control socket listening", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the control socket");
        var path = world.SpoolPath + ".sock";

        var idle = new List<Socket>();
        for (var i = 0; i < 12; i++) idle.Add(await ConnectAsync(path, ct));
        try
        {
            var (code, status) = await AskAsync(path, ct, "spool", "status");
            Assert.That(code, Is.Zero, status);
            Assert.That(status, Does.Contain("open conversation(s)"));
            Assert.That(idle.Count(StillOpen), Is.EqualTo(12), "answered while the twelve idle clients are still connected (not after dropping them)");

            // A client that sends 100 MB without a newline: refused after 64 KiB, and nobody else waits for it.
            using (var flood = await ConnectAsync(path, ct))
            {
                var chunk = new byte[1024 * 1024];
                Array.Fill(chunk, (byte)'[');
                var sent = 0L;
                try
                {
                    for (var i = 0; i < 100; i++) sent += await flood.SendAsync(chunk, SocketFlags.None, ct);
                }
                catch (SocketException)
                {
                    // the service closed the connection: expected
                }
                Assert.That(sent, Is.LessThan(100L * chunk.Length), "the service stops reading long before 100 MB");
            }
            await imlogger.WaitForLineAsync(l => l.Contains("request longer than 65536 bytes", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the refusal");

            // A client that asks for the report and goes away before reading it.
            using (var gone = await ConnectAsync(path, ct))
            {
                await gone.SendAsync(Encoding.UTF8.GetBytes("[\"report\"]\n"), SocketFlags.None, ct);
                gone.Close(0);
            }
            await imlogger.WaitForLineAsync(l => l.Contains("went away before its answer was read", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
                "the report's answer finding nobody (its slot free again)");

            // Up to the limit (16 at once; 12 idle held), then one more is told to try again, at once.
            for (var i = 0; i < 4; i++) idle.Add(await ConnectAsync(path, ct));
            var (busyCode, busy) = await AskAsync(path, ct, "spool", "status");
            Assert.That(busyCode, Is.EqualTo(75), () => busy + "\n" + string.Join('\n', imlogger.Lines.Where(l => l.Contains("Control socket", StringComparison.Ordinal))));
            Assert.That(busy, Does.Contain("already serving 16 commands; try again"));

            // The idle ones are dropped when the configured request timeout fires; then commands are served again.
            foreach (var socket in idle) Assert.That(await ReadToEndAsync(socket, ct), Is.Zero, "dropped without an answer");
            int Dropped() => imlogger.Lines.Count(l => l.Contains($"sent no request within {RequestTimeoutSeconds} s; dropped", StringComparison.Ordinal));
            for (var i = 0; i < 100 && Dropped() < 16; i++) await Task.Delay(100, ct); // the log line may trail the close
            Assert.That(Dropped(), Is.EqualTo(16), "each idle client's drop is logged");
            (code, status) = await AskAsync(path, ct, "spool", "status");
            Assert.That(code, Is.Zero, status);
            Assert.That(imlogger.HasExited, Is.False);
        }
        finally
        {
            foreach (var socket in idle) socket.Dispose();
        }
        Assert.That(await imlogger.TerminateAsync(TimeSpan.FromSeconds(60)), Is.Zero);
    }
}
