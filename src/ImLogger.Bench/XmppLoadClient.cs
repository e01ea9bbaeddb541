using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace ImLogger.Bench;

/// <summary>
/// A minimal c2s client for load: plain TCP on loopback, SASL PLAIN, resource bind, initial presence. After the
/// login it no longer parses XML: the sender writes pre-formatted messages and the receiver scans the byte stream
/// for bodies, so the driver costs far less CPU than the server it drives (the benchmark prints its own CPU to show it).
/// </summary>
internal sealed class XmppLoadClient : IAsyncDisposable
{
    private readonly TcpClient _tcp = new() { NoDelay = true };
    private NetworkStream _stream = null!;
    private readonly StringBuilder _pending = new();

    private XmppLoadClient(string user, string domain)
    {
        User = user;
        Domain = domain;
    }

    public string User { get; }
    public string Domain { get; }
    public string FullJid => $"{User}@{Domain}/bench";

    public static async Task<XmppLoadClient> LoginAsync(int port, string user, string domain, string password)
    {
        var client = new XmppLoadClient(user, domain);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await client._tcp.ConnectAsync("127.0.0.1", port, timeout.Token);
        client._stream = client._tcp.GetStream();
        var ct = timeout.Token;
        await client.OpenStreamAsync(ct);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await client.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>", ct);
        var answer = await client.ReadUntilAsync(s => s.Contains("<success") || s.Contains("<failure"), ct);
        if (!answer.Contains("<success"))
            throw new InvalidOperationException($"{user}: authentication failed: {answer}");
        client._pending.Clear();
        await client.OpenStreamAsync(ct);
        await client.SendAsync("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>", ct);
        await client.ReadUntilAsync(s => s.Contains("</iq>") || s.Contains("id='bind1'/>"), ct);
        client._pending.Clear();
        // Available presence, so the session is a normal online client (Prosody routes to it as to any other).
        await client.SendAsync("<presence/>", ct);
        return client;
    }

    private async Task OpenStreamAsync(CancellationToken ct)
    {
        await SendAsync($"<?xml version='1.0'?><stream:stream to='{Domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", ct);
        await ReadUntilAsync(s => s.Contains("</stream:features>"), ct);
    }

    private async Task SendAsync(string text, CancellationToken ct) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct);

    private async Task<string> ReadUntilAsync(Func<string, bool> done, CancellationToken ct)
    {
        var buffer = new byte[8192];
        while (!done(_pending.ToString()))
        {
            var n = await _stream.ReadAsync(buffer, ct);
            if (n == 0) throw new IOException($"{User}: the server closed the stream during login: {_pending}");
            _pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        return _pending.ToString();
    }

    /// <summary>
    /// Sends <paramref name="count"/> chat messages to <paramref name="to"/> at <paramref name="rate"/> per second
    /// (0: as fast as the socket takes them). Each body is "sequence timestamp" (Stopwatch ticks at send time).
    /// Messages due at the same moment go out in one write, as a real busy client's would not, but the server
    /// parses them one by one either way. A <c>bodyTag</c> is appended to each body ("sequence timestamp tag"), so that
    /// an archive can be counted by sender.
    /// </summary>
    public async Task SendMessagesAsync(string to, int count, double rate, string tag, CancellationToken ct, string? bodyTag = null)
    {
        var suffix = bodyTag == null ? "" : " " + bodyTag;
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        var buffer = new MemoryStream(64 * 1024);
        while (sent < count)
        {
            int due;
            if (rate <= 0)
                due = Math.Min(64, count - sent);
            else
            {
                var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                due = Math.Min((int)(elapsed * rate) + 1, count) - sent;
                if (due <= 0)
                {
                    // Sleep to the next message's slot. Never spin: on 2 cores a spinning driver steals the
                    // server's CPU. Task.Delay's ~1 ms granularity means up to ~2 messages per write at 2,000/s.
                    var next = (sent / rate) - elapsed;
                    await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.001, next)), ct);
                    continue;
                }
            }
            buffer.SetLength(0);
            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < due; i++, sent++)
                buffer.Write(Encoding.UTF8.GetBytes($"<message to='{to}' type='chat' id='{tag}{sent}'><body>{sent} {now}{suffix}</body></message>"));
            await _stream.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ct);
        }
    }

    /// <summary>
    /// Reads until <paramref name="count"/> bodies of the form "sequence timestamp" arrived, or <paramref name="ct"/>
    /// ends; returns each message's latency (ms, by sequence; NaN if not received) and the time the last one arrived.
    /// </summary>
    public async Task<(double[] LatencyMs, long LastArrival, int Received)> ReceiveMessagesAsync(int count, CancellationToken ct)
    {
        Duplicates = 0;
        var latency = new double[count];
        Array.Fill(latency, double.NaN);
        var received = 0;
        long last = 0;
        var buffer = new byte[256 * 1024];
        var filled = 0;
        var open = "<body>"u8.ToArray();
        var close = "</body>"u8.ToArray();
        try
        {
            while (received < count)
            {
                if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                var n = await _stream.ReadAsync(buffer.AsMemory(filled), ct);
                if (n == 0) break;
                var now = Stopwatch.GetTimestamp();
                filled += n;
                var span = buffer.AsSpan(0, filled);
                var consumed = 0;
                while (true)
                {
                    var at = span[consumed..].IndexOf(open);
                    if (at < 0)
                    {
                        // Nothing more to parse: keep only a tail that may be the start of "<body>".
                        consumed = Math.Max(consumed, filled - open.Length + 1);
                        break;
                    }
                    var from = consumed + at + open.Length;
                    var end = span[from..].IndexOf(close);
                    if (end < 0) { consumed += at; break; }
                    var text = Encoding.ASCII.GetString(span.Slice(from, end));
                    consumed = from + end + close.Length;
                    var space = text.IndexOf(' ');
                    var tagAt = space < 0 ? -1 : text.IndexOf(' ', space + 1);
                    var stamp = space < 0 ? "" : tagAt < 0 ? text[(space + 1)..] : text[(space + 1)..tagAt];
                    if (space > 0 && int.TryParse(text.AsSpan(0, space), out var seq) && long.TryParse(stamp, out var sentAt)
                        && seq >= 0 && seq < count)
                    {
                        if (!double.IsNaN(latency[seq])) { Duplicates++; continue; }
                        latency[seq] = Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds;
                        received++;
                        ReceivedKeys.Add(text);
                        last = now;
                    }
                }
                span[consumed..].CopyTo(buffer);
                filled -= consumed;
            }
        }
        catch (OperationCanceledException)
        {
        }
        return (latency, last, received);
    }

    /// <summary>The bodies <see cref="ReceiveMessagesAsync"/> read (the drill compares them with the archive).</summary>
    public HashSet<string> ReceivedKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>Bodies <see cref="ReceiveMessagesAsync"/> read a second time (a message delivered twice).</summary>
    public int Duplicates { get; private set; }

    /// <summary>Reads and counts error stanzas (refusals) until <paramref name="ct"/> ends; the sender's side of a drill.</summary>
    public async Task<int> CountErrorsAsync(CancellationToken ct)
    {
        var errors = 0;
        var buffer = new byte[64 * 1024];
        var tail = "";
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer, ct);
                if (n == 0) break;
                var text = tail + Encoding.UTF8.GetString(buffer, 0, n);
                for (var at = text.IndexOf("type='error'", StringComparison.Ordinal); at >= 0; at = text.IndexOf("type='error'", at + 1, StringComparison.Ordinal))
                    errors++;
                tail = text.Length > 16 ? text[^11..] : text;
            }
        }
        catch (OperationCanceledException)
        {
        }
        return errors;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _stream.WriteAsync("</stream:stream>"u8.ToArray(), cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        _tcp.Dispose();
    }
}
