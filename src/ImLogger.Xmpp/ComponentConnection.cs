using System.Threading.Channels;
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
    /// malformed XML and the hard limits (an XML token over <see cref="ComponentConnectionOptions.MaxTokenBytes"/>, nesting
    /// no server sends). A stanza over a per-stanza limit does not end the stream: it is passed to
    /// <paramref name="onStanza"/> alone, kept up to the limit and marked (<see cref="StanzaLimits"/>).
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
    /// <remarks>Delivery is at most once: a stanza still queued when the stream drops is discarded with it.</remarks>
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
}
