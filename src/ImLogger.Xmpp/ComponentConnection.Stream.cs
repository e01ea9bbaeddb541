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
        // Draining: a stop does not end the read at once (DrainAsync does, once the server is done or the bound has passed).
        var drain = _options.DrainOnStop > TimeSpan.Zero;
        using var sessionCts = new CancellationTokenSource();
        using var tcp = new TcpClient { NoDelay = true };
        NetworkStream? network = null;
        CountingStream? counting = null;
        XmlReader? reader = null;
        StanzaReader? stanzas;
        Session? session = null;
        Task? writer = null;
        var closed = false;
        long handed = 0;
        // Without a drain a stop ends the read at once; what is already queued for the server is written first, within a
        // bound (inline verdicts for stanzas already stored: unanswered, the server would send them again).
        using var stopping = drain ? default : token.Register(() => _ = EndAfterWritesAsync());
        async Task EndAfterWritesAsync()
        {
            if (session is { } s && writer is { } w)
            {
                s.Outgoing.Writer.TryComplete();
                await Task.WhenAny(w, Task.Delay(TimeSpan.FromSeconds(5), _time)).ConfigureAwait(false);
            }
            try { await sessionCts.CancelAsync().ConfigureAwait(false); }
            catch (ObjectDisposedException) { }
        }
        try
        {
            (network, counting, reader, stanzas) = await ConnectAndHandshakeAsync(tcp, sessionCts.Token, token).ConfigureAwait(false);
            counting.ReadToken = sessionCts.Token;
            counting.Time = _time;
            counting.ReadPause = _options.ReadPause; // after the handshake: the handshake itself is read at once
            backoff.Reset();

            session = new Session(network, _time.GetTimestamp());
            writer = WriterLoopAsync(session, sessionCts);
            _session = session;
            _logger.LogInformation("Connected to the XMPP server at {Endpoint} as component {Component}", _endpoint, _componentDomain);
            EnteredActive();
            RaiseConnected();

            var reading = ReadLoopAsync(stanzas, (stanza, ct) =>
            {
                Interlocked.Increment(ref handed);
                return onStanza(stanza, ct);
            }, sessionCts.Token);
            if (drain)
            {
                var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await using (token.Register(() => stopped.TrySetResult()))
                {
                    if (await Task.WhenAny(reading, stopped.Task).ConfigureAwait(false) == stopped.Task)
                    {
                        closed = true;
                        await DrainAsync(reading, session, writer, network, counting, sessionCts, () => Interlocked.Read(ref handed)).ConfigureAwait(false);
                        return;
                    }
                }
            }
            await reading.ConfigureAwait(false);
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
            if (!closed && network is not null && counting?.EndOfStreamReached != true && session?.WriterFault is null)
                await CloseStreamAsync(tcp, network, token.IsCancellationRequested).ConfigureAwait(false);
            reader?.Dispose();
        }
    }

    private async Task<(NetworkStream, CountingStream, XmlReader, StanzaReader)> ConnectAndHandshakeAsync(TcpClient tcp, CancellationToken sessionToken, CancellationToken token)
    {
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time);
        using var handshakeCts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken, token, timeout.Token);
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

    /// <summary>
    /// The graceful stop with <see cref="ComponentConnectionOptions.DrainOnStop"/>: what is queued for the server is written,
    /// our side of the stream is closed (the server stops routing to the component), and the reader goes on handing over what
    /// the server had already routed to us until the server closes its side, or the bound passes. Logs the count either way.
    /// </summary>
    private async Task DrainAsync(Task reading, Session session, Task writer, NetworkStream network, CountingStream counting, CancellationTokenSource sessionCts, Func<long> handed)
    {
        var before = handed();
        _session = null; // nothing more can be sent after our </stream:stream>
        session.Outgoing.Writer.TryComplete();
        await writer.ConfigureAwait(false);
        _logger.LogInformation("Stopping: closed the stream to {Endpoint}; reading what the server still has for ImLogger (at most {Seconds:0.#} s)",
            _endpoint, _options.DrainOnStop.TotalSeconds);
        // The end tag only, no half-close: Prosody (server_epoll) that reads our FIN with the end tag destroys the
        // connection at once, dropping what it had still buffered for us; without it, it flushes and then closes.
        if (session.WriterFault is null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
            try
            {
                await network.WriteAsync("</stream:stream>"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                _logger.LogDebug("Could not close the stream to {Endpoint} cleanly: {Problem}", _endpoint, ex.Message);
            }
        }
        sessionCts.CancelAfter(_options.DrainOnStop);
        try
        {
            await reading.ConfigureAwait(false);
            _logger.LogInformation("Drained {Count} stanza(s) from {Endpoint} after the stop; the server closed its side of the stream, so it had nothing more to send",
                handed() - before, _endpoint);
        }
        catch (OperationCanceledException) when (sessionCts.IsCancellationRequested)
        {
            _logger.LogWarning("Drained {Count} stanza(s) from {Endpoint} in {Seconds:0.#} s after the stop, then gave up: the server may still have had copies for ImLogger, and those are lost " +
                               "(tap mode cannot ask for them again). If this repeats, ImLogger lags behind the server: see docs/performance.md",
                handed() - before, _endpoint, _options.DrainOnStop.TotalSeconds);
        }
        catch (Exception ex) when (ex is IOException or SocketException or XmlException or ObjectDisposedException)
        {
            // Prosody flushes what it has, then ends the stream; a connection dropped without the end tag may have dropped copies.
            _logger.LogWarning("Drained {Count} stanza(s) from {Endpoint} after the stop, then the connection {Failure}: the server may still have had copies for ImLogger, and those are lost",
                handed() - before, _endpoint, counting.EndOfStreamReached ? "was closed without the end of the stream" : $"failed ({ex.Message})");
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
