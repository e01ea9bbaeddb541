using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace ImLogger.Xmpp.Tests;

/// <summary>A scripted XMPP server side of XEP-0114 on a loopback port.</summary>
internal sealed class FakeServer : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public FakeServer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async Task<FakePeer> AcceptAsync() => new(await _listener.AcceptTcpClientAsync().WaitAsync(Timeout));

    public void Dispose() => _listener.Dispose();
}

internal sealed partial class FakePeer : IDisposable
{
    public const string ServerHeader =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='{0}' from='archive.example.test'>";

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _received = new();
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();

    public FakePeer(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>Everything received so far and not yet consumed.</summary>
    public string Pending => _received.ToString();

    /// <summary>Reads until <paramref name="marker"/> arrived; returns the text up to and including it and consumes it.</summary>
    public async Task<string> ReadUntilAsync(string marker)
    {
        var deadline = DateTime.UtcNow + FakeServer.Timeout;
        while (true)
        {
            var at = _received.ToString().IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                var text = _received.ToString(0, at + marker.Length);
                _received.Remove(0, at + marker.Length);
                return text;
            }
            if (await ReadSomeAsync(deadline - DateTime.UtcNow) == 0)
                throw new EndOfStreamException($"closed before '{marker}'; got '{_received}'");
        }
    }

    /// <summary>Reads until the client closes its side; returns everything not yet consumed.</summary>
    public async Task<string> ReadToEndAsync()
    {
        var deadline = DateTime.UtcNow + FakeServer.Timeout;
        try
        {
            while (await ReadSomeAsync(deadline - DateTime.UtcNow) > 0) { }
        }
        catch (IOException)
        {
            // a reset also means closed
        }
        return _received.ToString();
    }

    /// <summary>Reads whatever arrives within <paramref name="wait"/>; returns bytes read (0 at end of stream), -1 if nothing came.</summary>
    public async Task<int> TryReadAsync(TimeSpan wait)
    {
        try
        {
            return await ReadSomeAsync(wait);
        }
        catch (TimeoutException)
        {
            return -1;
        }
    }

    private async Task<int> ReadSomeAsync(TimeSpan wait)
    {
        if (wait <= TimeSpan.Zero)
            throw new TimeoutException($"timed out; got '{_received}'");
        var buffer = new byte[8192];
        using var cts = new CancellationTokenSource(wait);
        int n;
        try
        {
            n = await _stream.ReadAsync(buffer, cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"timed out; got '{_received}'");
        }
        var chars = new char[Encoding.UTF8.GetMaxCharCount(n)];
        var c = _decoder.GetChars(buffer, 0, n, chars, 0);
        _received.Append(chars, 0, c);
        return n;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes).AsTask().WaitAsync(FakeServer.Timeout);
        await _stream.FlushAsync();
    }

    /// <summary>Plays the server side up to a successful handshake; returns (client header, digest sent).</summary>
    public async Task<(string Header, string Digest)> HandshakeAsync(string id = "stream-1")
    {
        var (header, digest) = await ReadHeaderAndDigestAsync(id);
        await SendAsync("<handshake/>");
        return (header, digest);
    }

    public async Task<(string Header, string Digest)> ReadHeaderAndDigestAsync(string id)
    {
        var header = await ReadUntilAsync("'archive.example.test'>");
        await SendAsync(string.Format(ServerHeader, id));
        var handshake = await ReadUntilAsync("</handshake>");
        return (header, DigestRegex().Match(handshake).Groups[1].Value);
    }

    public async Task SendStreamErrorAsync(string condition, string? text = null)
    {
        var textElement = text is null ? "" : $"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>{text}</text>";
        await SendAsync($"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>{textElement}</stream:error></stream:stream>");
    }

    public void Dispose() => _client.Dispose();

    [GeneratedRegex("<handshake>([^<]*)</handshake>")]
    private static partial Regex DigestRegex();
}
