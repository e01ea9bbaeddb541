using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using System.Xml;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp;

/// <summary>
/// One XEP-0114 component stream to an XMPP server: connect, handshake, a read loop that hands each stanza to the
/// caller, and a single writer. Reconnects with exponential backoff and jitter until cancelled.
/// </summary>
public sealed partial class ComponentConnection : IAsyncDisposable
{
    /// <summary>The namespace of stanzas on a component stream.</summary>
    public static readonly XNamespace AcceptNamespace = "jabber:component:accept";

    private readonly ComponentConnectionOptions _options;
    private readonly ILogger<ComponentConnection> _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly string _endpoint;
    private readonly string _componentDomain;
    private volatile Session? _session;
    private Task? _running;

    /// <summary>Creates the connection; nothing happens on the network until <see cref="RunAsync"/>.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public ComponentConnection(ComponentConnectionOptions options, ILogger<ComponentConnection> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _endpoint = $"{options.Host}:{options.Port}";
        _componentDomain = Jid.Parse(options.ComponentJid).Domain;
    }

    /// <summary>True while a stream is established and handshaken.</summary>
    public bool IsConnected => _session is not null;

    /// <summary>Raised after each successful handshake, before the first stanza of that stream is read.</summary>
    public event Action? Connected;

    /// <summary>
    /// Runs until cancelled. Each received top-level stanza (message/presence/iq, as an <see cref="XElement"/> in
    /// namespace <c>jabber:component:accept</c>) is passed to <paramref name="onStanza"/>, in order, one at a time;
    /// the next is not read until the handler completes (back-pressure). Returns when
    /// <paramref name="cancellationToken"/> is cancelled, after closing the stream with <c>&lt;/stream:stream&gt;</c>.
    /// Reconnects with backoff on network errors, server-side stream closes, retryable stream errors, timeouts,
    /// oversized stanzas and malformed XML.
    /// </summary>
    /// <exception cref="ComponentFatalException">The server refused us in a way reconnecting cannot fix; already logged.</exception>
    /// <remarks>An exception thrown by <paramref name="onStanza"/> closes the stream and ends this method with that exception.</remarks>
    public Task RunAsync(Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onStanza);
        ObjectDisposedException.ThrowIf(_disposeCts.IsCancellationRequested, this);
        if (_running is { IsCompleted: false })
            throw new InvalidOperationException("RunAsync is already running on this connection.");
        return _running = RunLoopAsync(onStanza, cancellationToken);
    }

    /// <summary>
    /// Queues a stanza for the single writer. It is serialised without a prefix or xmlns for
    /// <c>jabber:component:accept</c>, which the stream declares. Waits while the writer queue is full.
    /// </summary>
    /// <exception cref="ComponentNotConnectedException">No stream is established, or it ended while waiting.</exception>
    public async ValueTask SendAsync(XElement stanza, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        var session = _session ?? throw new ComponentNotConnectedException();
        var bytes = Serialize(stanza);
        try
        {
            await session.Outgoing.Writer.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ComponentNotConnectedException("The stream to the XMPP server closed before the stanza was queued.", ex);
        }
    }

    /// <summary>Stops <see cref="RunAsync"/> (closing the stream) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposeCts.IsCancellationRequested)
            return;
        await _disposeCts.CancelAsync().ConfigureAwait(false);
        if (_running is { } running)
        {
            // The caller of RunAsync observes its outcome; here we only wait for the socket to be released.
            await running.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                .ConfigureAwait(false);
        }
        _disposeCts.Dispose();
    }

    private async Task RunLoopAsync(Func<XElement, CancellationToken, ValueTask> onStanza, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposeCts.Token);
        var token = linked.Token;
        var backoff = new Backoff(_options.InitialReconnectDelay, _options.MaxReconnectDelay);
        var attempt = 0;
        while (true)
        {
            string reason;
            try
            {
                await RunStreamAsync(onStanza, backoff, token).ConfigureAwait(false);
                reason = $"the server at {_endpoint} closed the stream (Prosody restarting, or the component was unloaded)";
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ComponentFatalException ex)
            {
                _logger.LogError("Cannot attach to the XMPP server at {Endpoint} as {Component}: {Explanation}. Not retrying: fix the configuration and restart ImLogger",
                    _endpoint, _componentDomain, ex.Message);
                throw;
            }
            catch (StanzaHandlerException ex)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException!);
                throw; // unreachable; satisfies the compiler
            }
            catch (Exception ex) when (Describe(ex) is { } described)
            {
                reason = described;
            }

            if (token.IsCancellationRequested)
                return;
            var delay = backoff.Next();
            attempt++;
            _logger.LogWarning("{Reason}; retrying in {DelaySeconds:0.0} s (attempt {Attempt})", reason, delay.TotalSeconds, attempt);
            try
            {
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Turns a failure of one stream into the reason logged with the retry, logging protocol violations at Error
    /// first. Returns null for exceptions that are not connection failures, which then propagate.
    /// </summary>
    private string? Describe(Exception ex)
    {
        switch (ex)
        {
            case ServerUnreachableException { InnerException: System.Net.Sockets.SocketException se }:
                return $"cannot reach {_endpoint} ({DescribeSocketError(se)}): check that Prosody is running and that component_ports/component_interfaces include this address";
            case ServerUnreachableException unreachable:
                return $"cannot reach {_endpoint} ({unreachable.Message})";
            case RetryableStreamErrorException error:
                return $"the server at {_endpoint} ended the stream: {error.Error.Explain(_componentDomain)}";
            case StanzaTooLargeException tooLarge:
                _logger.LogError("The server at {Endpoint} sent a stanza larger than {MaxStanzaBytes} bytes; dropping the connection, that stanza is lost. Raise MaxStanzaBytes if such stanzas are legitimate",
                    _endpoint, tooLarge.Limit);
                return $"dropped the connection to {_endpoint} after an oversized stanza";
            case XmlException xml:
                _logger.LogError("The server at {Endpoint} sent malformed or forbidden XML (line {Line}, position {Position}): {Problem}. Is this really Prosody's component port?",
                    _endpoint, xml.LineNumber, xml.LinePosition, xml.Message);
                return $"dropped the connection to {_endpoint} after malformed XML";
            case ProtocolViolationException violation:
                _logger.LogError("The server at {Endpoint} broke the XMPP protocol: {Problem}. Is this really Prosody's component port?", _endpoint, violation.Message);
                return $"dropped the connection to {_endpoint} after a protocol violation";
            case TimeoutException timeout:
                return timeout.Message;
            case System.Net.Sockets.SocketException se:
                return $"lost the connection to {_endpoint} ({DescribeSocketError(se)})";
            case IOException { InnerException: System.Net.Sockets.SocketException se }:
                return $"lost the connection to {_endpoint} ({DescribeSocketError(se)})";
            case IOException io:
                return $"lost the connection to {_endpoint} ({io.Message})";
            case ObjectDisposedException:
                return $"lost the connection to {_endpoint} (socket closed)";
            default:
                return null;
        }
    }

    private static string DescribeSocketError(System.Net.Sockets.SocketException se) => se.SocketErrorCode switch
    {
        System.Net.Sockets.SocketError.ConnectionRefused => "connection refused",
        System.Net.Sockets.SocketError.ConnectionReset => "connection reset by the server",
        System.Net.Sockets.SocketError.ConnectionAborted => "connection aborted",
        System.Net.Sockets.SocketError.TimedOut => "timed out",
        System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData => "host name not found",
        System.Net.Sockets.SocketError.HostUnreachable => "host unreachable",
        System.Net.Sockets.SocketError.NetworkUnreachable => "network unreachable",
        _ => se.Message,
    };
}
