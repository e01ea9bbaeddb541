using System.Net.Sockets;
using System.Text;

namespace ImLogger.Integration.Tests.Support;

/// <summary>
/// A bare c2s client for drills that need many messages fast (slixmpp starts in seconds and sends slowly): plain
/// TCP on loopback, SASL PLAIN, bind, presence, then chat messages; whatever the server sends is read and dropped
/// so its buffers never fill.
/// </summary>
internal sealed class RawXmppClient : IAsyncDisposable
{
    private readonly TcpClient _tcp = new() { NoDelay = true };
    private readonly StringBuilder _login = new();
    private NetworkStream _stream = null!;
    private Task? _drain;
    private readonly HashSet<string> _drillBodies = [];
    private readonly Dictionary<string, int> _drillCounts = new(StringComparer.Ordinal);
    private int _errors;

    /// <summary>How many times each "drill-N" body was received (a body delivered twice counts 2).</summary>
    public IReadOnlyDictionary<string, int> DrillBodyCounts
    {
        get { lock (_drillBodies) return new Dictionary<string, int>(_drillCounts); }
    }

    /// <summary>Messages of type error received (refusals: the server bounced, or the inline module refused, a message sent).</summary>
    public int ErrorMessages => Volatile.Read(ref _errors);

    /// <summary>The "drill-N" message bodies this client has received so far (the drills' unique bodies).</summary>
    public IReadOnlySet<string> ReceivedDrillBodies
    {
        get { lock (_drillBodies) return _drillBodies.ToHashSet(); }
    }

    public static async Task<RawXmppClient> LoginAsync(IXmppServer server, string user)
    {
        var client = new RawXmppClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var ct = timeout.Token;
        await client._tcp.ConnectAsync("127.0.0.1", server.C2sPort, ct);
        client._stream = client._tcp.GetStream();
        await client.OpenStreamAsync(ct);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{ProsodyServer.Password}"));
        await client.WriteAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>", ct);
        var answer = await client.ReadUntilAsync(s => s.Contains("<success") || s.Contains("<failure"), ct);
        if (!answer.Contains("<success")) throw new InvalidOperationException($"{user}: authentication failed: {answer}");
        await client.OpenStreamAsync(ct);
        await client.WriteAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>", ct);
        await client.ReadUntilAsync(s => s.Contains("</iq>"), ct);
        await client.WriteAsync("<presence/>", ct);
        var stream = client._stream;
        client._drain = Task.Run(async () =>
        {
            var sink = new byte[65536];
            var decoder = Encoding.UTF8.GetDecoder();
            var chars = new char[Encoding.UTF8.GetMaxCharCount(sink.Length)];
            var tail = "";
            try
            {
                int n;
                while ((n = await stream.ReadAsync(sink)) > 0)
                {
                    // Bodies may straddle reads: scan the previous read's tail with this one (a body seen twice is one set entry).
                    var text = tail + new string(chars, 0, decoder.GetChars(sink, 0, n, chars, 0));
                    lock (client._drillBodies)
                    {
                        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, "<body>(drill-[0-9]+)[ <]"))
                        {
                            client._drillBodies.Add(m.Groups[1].Value);
                            // Counted once: a match that ends inside the previous read's tail was counted with that read.
                            if (m.Index + m.Length > tail.Length)
                                client._drillCounts[m.Groups[1].Value] = client._drillCounts.GetValueOrDefault(m.Groups[1].Value) + 1;
                        }
                        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, "<message [^>]*type=['\"]error['\"]"))
                            if (m.Index + m.Length > tail.Length) Interlocked.Increment(ref client._errors);
                    }
                    tail = text.Length > 64 ? text[^64..] : text;
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
        });
        return client;
    }

    private async Task OpenStreamAsync(CancellationToken ct)
    {
        _login.Clear();
        await WriteAsync($"<?xml version='1.0'?><stream:stream to='{ProsodyServer.Domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", ct);
        await ReadUntilAsync(s => s.Contains("</stream:features>"), ct);
    }

    private async Task WriteAsync(string text, CancellationToken ct) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct);

    private async Task<string> ReadUntilAsync(Func<string, bool> done, CancellationToken ct)
    {
        var buffer = new byte[8192];
        while (!done(_login.ToString()))
        {
            var n = await _stream.ReadAsync(buffer, ct);
            if (n == 0) throw new IOException($"the server closed the stream during login: {_login}");
            _login.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return _login.ToString();
    }

    /// <summary>Sends one chat message; the body must not need escaping.</summary>
    public async Task ChatAsync(string to, string body, CancellationToken ct = default) =>
        await WriteAsync($"<message to='{ClientScenario.Jid(to)}' type='chat' id='{Guid.NewGuid():N}'><body>{body}</body></message>", ct);

    /// <summary>Sends a stanza exactly as written (the hostile cases).</summary>
    public async Task SendRawAsync(string xml, CancellationToken ct = default) => await WriteAsync(xml, ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await WriteAsync("</stream:stream>", cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException) { }
        _tcp.Dispose();
        if (_drain != null) await _drain;
    }
}
