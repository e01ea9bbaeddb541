using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace ImLogger.Bench;

/// <summary>
/// The server side of XEP-0114 on a loopback port, playing Prosody for the component-alone benchmarks: it accepts
/// one component, answers the handshake without checking it, then writes whatever it is given as fast as the
/// socket takes it, and drains what the component sends back.
/// </summary>
internal sealed class ReplayServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private TcpClient? _client;
    private NetworkStream? _stream;
    private Task? _drain;

    public ReplayServer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async Task AcceptAsync(TimeSpan timeout)
    {
        _client = await _listener.AcceptTcpClientAsync().WaitAsync(timeout);
        _client.NoDelay = true;
        _stream = _client.GetStream();
        // The digest is accepted whatever it is: this server measures throughput, not authentication.
        await ReadUntilAsync(t => t.IndexOf('>', Math.Max(0, t.IndexOf("<stream:stream", StringComparison.Ordinal))) > 0
                                  && t.Contains("<stream:stream", StringComparison.Ordinal), timeout);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='bench' from='archive.example.test'>"));
        await ReadUntilAsync(t => t.Contains("</handshake>", StringComparison.Ordinal), timeout);
        await _stream.WriteAsync("<handshake/>"u8.ToArray());
        var stream = _stream;
        _drain = Task.Run(async () =>
        {
            var sink = new byte[65536];
            try { while (await stream.ReadAsync(sink) > 0) { } }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
        });
    }

    private readonly StringBuilder _seen = new();

    private async Task ReadUntilAsync(Func<string, bool> done, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        while (!done(_seen.ToString()))
        {
            var n = await _stream!.ReadAsync(buffer).AsTask().WaitAsync(timeout);
            if (n == 0) throw new IOException("the component closed before its handshake");
            _seen.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct) =>
        await (_stream ?? throw new InvalidOperationException("no component connected")).WriteAsync(bytes, ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_stream != null) await _stream.WriteAsync("</stream:stream>"u8.ToArray());
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
        _client?.Dispose();
        _listener.Dispose();
        if (_drain != null) await _drain;
    }
}

/// <summary>
/// Tap copies to replay: the stanzas of the session recorded from Debian's Prosody (chat with XHTML-IM, presence,
/// roster iq, a room join, room messages, leaves), repeated with fresh stanza ids so that dedup sees new stanzas.
/// </summary>
internal static partial class RecordedCopies
{
    public static IReadOnlyList<string> Load(string file) =>
        File.ReadLines(file).Where(l => l.StartsWith("<message ", StringComparison.Ordinal) || l.StartsWith("<presence ", StringComparison.Ordinal)
                                        || l.StartsWith("<iq ", StringComparison.Ordinal)).ToList();

    /// <summary><paramref name="count"/> stanzas, the recording over and over, ids suffixed with the round.</summary>
    public static byte[] Repeat(IReadOnlyList<string> recorded, int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var round = i / recorded.Count;
            text.Append(StanzaId().Replace(recorded[i % recorded.Count], m => $"{m.Groups[1].Value}id='{m.Groups[2].Value}-{round}'")).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Chat copies from alice to <paramref name="peers"/> distinct peers, <paramref name="count"/> in all, round-robin:
    /// one conversation per peer.</summary>
    public static byte[] Conversations(int peers, int first, int count)
    {
        var text = new StringBuilder();
        for (var i = first; i < first + count; i++)
        {
            var peer = i % peers;
            text.Append("<message from='example.test' to='archive.example.test'><forwarded xmlns='urn:xmpp:forward:0'>")
                .Append("<message xmlns='jabber:client' id='c").Append(i).Append("' from='alice@example.test/laptop' to='peer").Append(peer)
                .Append("@example.test' type='chat'><body>message ").Append(i).Append(" about the quarterly figures</body></message></forwarded></message>\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    [GeneratedRegex("( )id='([^']*)'")]
    private static partial Regex StanzaId();
}
