using System.Net.Sockets;
using System.Security;
using System.Text;
using System.Threading.Channels;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp;

public sealed partial class ComponentConnection
{
    private const int OutgoingCapacity = 256;
    private static readonly byte[] KeepAlive = " "u8.ToArray();
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>State of one handshaken stream that the writer and <see cref="SendAsync"/> share.</summary>
    private sealed class Session(NetworkStream network, long connectedAt)
    {
        public NetworkStream Network { get; } = network;

        public Channel<byte[]> Outgoing { get; } = Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(OutgoingCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        /// <summary>Set when the writer hit a socket error, before it cancels the reader.</summary>
        public Exception? WriterFault { get; set; }

        private long _lastWrite = connectedAt;

        /// <summary>When the writer last started writing to the socket (a <see cref="TimeProvider.GetTimestamp"/> value).</summary>
        public long LastWrite
        {
            get => Interlocked.Read(ref _lastWrite);
            set => Interlocked.Exchange(ref _lastWrite, value);
        }
    }

    private byte[] StreamHeader() => Encoding.UTF8.GetBytes(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' " +
        $"to='{SecurityElement.Escape(_componentDomain)}'>");

    /// <summary>
    /// The only code that writes to the socket once the handshake is done, so stanzas never interleave.
    /// A space goes out when nothing was written for <see cref="ComponentConnectionOptions.KeepAliveInterval"/>; it is
    /// queued like a stanza by <see cref="KeepAliveLoopAsync"/>, so waking the writer for a verdict costs no timer.
    /// </summary>
    private async Task WriterLoopAsync(Session session, CancellationTokenSource sessionCts)
    {
        var token = sessionCts.Token;
        var queue = session.Outgoing.Reader;
        var interval = _options.KeepAliveInterval;
        using var writerEnded = CancellationTokenSource.CreateLinkedTokenSource(token);
        var keepAlive = interval > TimeSpan.Zero && interval != Timeout.InfiniteTimeSpan
            ? KeepAliveLoopAsync(session, interval, writerEnded.Token)
            : Task.CompletedTask;
        try
        {
            while (await queue.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (queue.TryRead(out var bytes))
                {
                    // Stamped before the write, so a keepalive is not queued behind a write just begun. One blocked for longer
                    // than the interval (a peer that does not read) gets a space queued behind it each interval: harmless.
                    session.LastWrite = _time.GetTimestamp();
                    await session.Network.WriteAsync(bytes, token).ConfigureAwait(false);
                }
            }
            // The queue completed: the stream is ending.
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The stream is ending; whatever is still queued is dropped with it.
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            session.WriterFault = ex;
            _logger.LogDebug("Writing to {Endpoint} failed: {Problem}", _endpoint, ex.Message);
            // XmlReader cannot be cancelled directly; cancelling the session token fails its pending socket read.
            await sessionCts.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            session.Outgoing.Writer.TryComplete();
            await writerEnded.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false); // never throws
        }
    }

    /// <summary>
    /// Queues a whitespace keepalive whenever the writer has been silent for <paramref name="interval"/>. One timer per
    /// interval, not one per write: at hundreds of verdicts a second a timer armed and cancelled on every wake of the
    /// writer cost more than the writes.
    /// </summary>
    private async Task KeepAliveLoopAsync(Session session, TimeSpan interval, CancellationToken token)
    {
        try
        {
            while (true)
            {
                var silent = _time.GetElapsedTime(session.LastWrite);
                if (silent >= interval)
                {
                    // A full queue means the writer is busy writing: no keepalive needed, none waited for.
                    if (session.Outgoing.Writer.TryWrite(KeepAlive))
                        _logger.LogTrace("Queued a whitespace keepalive to {Endpoint}", _endpoint);
                    silent = TimeSpan.Zero;
                }
                await Task.Delay(interval - silent, _time, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The writer ended.
        }
    }

    /// <summary>Serialises a stanza as it goes on the wire: no XML declaration, no prefix, no xmlns for the stream's namespace.</summary>
    internal static byte[] Serialize(XElement stanza)
    {
        var copy = new XElement(stanza);
        StripStreamNamespace(copy);
        var settings = new XmlWriterSettings
        {
            OmitXmlDeclaration = true,
            Encoding = Utf8NoBom,
            Indent = false,
            // Entitize keeps \r and newlines in attributes intact through the server's parser.
            NewLineHandling = NewLineHandling.Entitize,
            ConformanceLevel = ConformanceLevel.Fragment,
        };
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, settings))
            copy.WriteTo(writer);
        return buffer.ToArray();
    }

    /// <summary>
    /// Moves elements in jabber:component:accept (or none) to no namespace, so they inherit the stream's default
    /// namespace instead of repeating it. Stops at foreign elements, whose subtrees keep their own namespaces.
    /// </summary>
    private static void StripStreamNamespace(XElement element)
    {
        if (element.Name.Namespace != AcceptNamespace && element.Name.Namespace != XNamespace.None)
            return;
        element.Name = XName.Get(element.Name.LocalName);
        element.Attributes().Where(a => a.IsNamespaceDeclaration && a.Value == AcceptNamespace.NamespaceName).Remove();
        foreach (var child in element.Elements())
            StripStreamNamespace(child);
    }
}
