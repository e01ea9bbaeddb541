using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp;

public sealed partial class ComponentConnection
{
    /// <summary>
    /// One stream from TCP connect to close. Returns when the server closes the stream; throws for every other
    /// ending, which <see cref="RunLoopAsync"/> classifies.
    /// </summary>
    private async Task RunStreamAsync(Func<XElement, CancellationToken, ValueTask> onStanza, Backoff backoff, CancellationToken token)
    {
        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(token);
        using var tcp = new TcpClient { NoDelay = true };
        NetworkStream? network = null;
        CountingStream? counting = null;
        XmlReader? reader = null;
        StanzaReader? stanzas;
        Session? session = null;
        Task? writer = null;
        try
        {
            (network, counting, reader, stanzas) = await ConnectAndHandshakeAsync(tcp, sessionCts.Token, token).ConfigureAwait(false);
            counting.ReadToken = sessionCts.Token;
            backoff.Reset();

            session = new Session(network);
            writer = WriterLoopAsync(session, sessionCts);
            _session = session;
            _logger.LogInformation("Connected to the XMPP server at {Endpoint} as component {Component}", _endpoint, _componentDomain);
            RaiseConnected();

            await ReadLoopAsync(stanzas, onStanza, sessionCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested && session?.WriterFault is { } fault)
        {
            // The writer failed and cancelled the read; the writer's error is the real reason.
            ExceptionDispatchInfo.Throw(fault);
        }
        catch (XmlException ex) when (counting?.EndOfStreamReached == true)
        {
            // XmlReader reports a socket closed mid-document as malformed XML; it is a disconnect, not bad input.
            throw new IOException("the server closed the connection without closing the stream", ex);
        }
        finally
        {
            _session = null;
            session?.Outgoing.Writer.TryComplete();
            await sessionCts.CancelAsync().ConfigureAwait(false);
            if (writer is not null)
                await writer.ConfigureAwait(false); // never throws: the writer records its faults
            if (network is not null && counting?.EndOfStreamReached != true && session?.WriterFault is null)
                await CloseStreamAsync(tcp, network, token.IsCancellationRequested).ConfigureAwait(false);
            reader?.Dispose();
        }
    }

    private async Task<(NetworkStream, CountingStream, XmlReader, StanzaReader)> ConnectAndHandshakeAsync(TcpClient tcp, CancellationToken sessionToken, CancellationToken token)
    {
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var handshakeCts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken, timeout.Token);
        var ct = handshakeCts.Token;
        var connected = false;
        try
        {
            try
            {
                await tcp.ConnectAsync(_options.Host, _options.Port, ct).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new ServerUnreachableException(ex.Message, ex);
            }
            connected = true;
            var network = tcp.GetStream();
            var counting = new CountingStream(network, Math.Max(_options.MaxTokenBytes, _options.MaxStanzaBytes)) { ReadToken = ct };
            var reader = XmlReader.Create(counting, ReaderSettings);
            var stanzas = new StanzaReader(reader, counting, _options.MaxStanzaBytes);

            await network.WriteAsync(StreamHeader(), ct).ConfigureAwait(false);
            var id = await ReadStreamHeaderAsync(reader, counting).ConfigureAwait(false);
            // The digest is a function of the secret: it is sent, never logged.
            await network.WriteAsync(Encoding.UTF8.GetBytes($"<handshake>{ComponentHandshake.ComputeDigest(id, _options.Secret)}</handshake>"), ct)
                .ConfigureAwait(false);

            var reply = await stanzas.ReadTopLevelAsync().ConfigureAwait(false)
                ?? throw new IOException("the server closed the stream during the handshake");
            ThrowIfStreamError(reply);
            if (reply.Name != AcceptNamespace + "handshake")
                throw new ProtocolViolationException($"expected <handshake/> in reply to the handshake, got <{reply.Name.LocalName}>");
            return (network, counting, reader, stanzas);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !token.IsCancellationRequested)
        {
            var seconds = _options.ConnectTimeout.TotalSeconds;
            throw new TimeoutException(connected
                ? $"the server at {_endpoint} did not complete the component handshake within {seconds:0.#} s: check that Port is Prosody's component port (component_ports), not the client port 5222"
                : $"cannot reach {_endpoint} (no answer within {seconds:0.#} s): check the host, the port and firewalls");
        }
    }

    private void ThrowIfStreamError(XElement element)
    {
        if (element.Name != StreamError.StreamsNamespace + "error")
            return;
        var error = StreamError.Parse(element);
        if (error.IsFatal)
            throw new ComponentFatalException(error.Condition, error.Explain(_componentDomain));
        throw new RetryableStreamErrorException(error);
    }

    private void RaiseConnected()
    {
        try
        {
            Connected?.Invoke();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A subscriber's bug must not tear down a healthy stream; it is reported, not swallowed silently.
            _logger.LogError(ex, "A Connected event handler failed");
        }
    }

    /// <summary>Sends &lt;/stream:stream&gt; so the server sees a clean close, then half-closes the socket.</summary>
    private async Task CloseStreamAsync(TcpClient tcp, NetworkStream network, bool shuttingDown)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
        try
        {
            await network.WriteAsync("</stream:stream>"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            tcp.Client.Shutdown(SocketShutdown.Send);
            if (shuttingDown)
                _logger.LogDebug("Closed the stream to {Endpoint} for shutdown", _endpoint);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Expected when the peer is already gone; the connection is being dropped anyway.
            _logger.LogDebug("Could not close the stream to {Endpoint} cleanly: {Problem}", _endpoint, ex.Message);
        }
    }
}
