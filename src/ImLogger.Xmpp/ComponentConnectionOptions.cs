namespace ImLogger.Xmpp;

/// <summary>
/// Settings for a <see cref="ComponentConnection"/> to an XMPP server's XEP-0114 component port.
/// </summary>
public sealed class ComponentConnectionOptions
{
    /// <summary>Host name or address of the XMPP server's component listener.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port of the component listener (Prosody's <c>component_ports</c>, 5347 by default).</summary>
    public int Port { get; set; } = 5347;

    /// <summary>The component's domain, e.g. <c>archive.example.test</c>; must match a <c>Component</c> entry on the server.</summary>
    public string ComponentJid { get; set; } = "";

    /// <summary>The shared secret (<c>component_secret</c>). Never logged.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Time allowed for the TCP connect plus the stream/handshake exchange.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A single space is sent when nothing was written for this long, so NATs and the server keep the idle stream open.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The per-stanza size limit: a top-level stanza larger than this is read up to the limit and
    /// delivered partial, marked with <see cref="StanzaLimits.OverLimit"/>; the rest of it is skipped (counted, not kept)
    /// and the stream goes on. Measured on the raw stream, to within one read of 4 KiB.</summary>
    public int MaxStanzaBytes { get; set; } = 1 * 1024 * 1024;

    /// <summary>
    /// The only size limit that ends the connection: a single XML token (a start tag with its attributes, a comment)
    /// larger than this, or the larger of this and <see cref="MaxStanzaBytes"/>. The parser must hold a token whole,
    /// so this bounds its memory; no XMPP server sends such a token (Prosody refuses client stanzas over 256 KiB), so
    /// only a broken or hostile server reaches it. Text of any length is read in chunks and is not a token here.
    /// </summary>
    public int MaxTokenBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Zero (the default) reads from the server as soon as anything arrives. Positive: once a read finds the socket
    /// drained, the next read waits this long, so stanzas arriving at low rates are read, parsed and handed on in groups,
    /// and stored in one write per group instead of one per few stanzas. Reads go on at once while data is waiting, so
    /// the rate the component can take is unchanged; each stanza waits at most this long more. (The socket engine still
    /// wakes up per arriving segment: docs/performance.md, "ImLogger alone, paced".)
    /// </summary>
    /// <remarks>For copies (tap mode), which nobody waits on. Not for requests that hold a stanza (inline mode): its
    /// latency is the server's. What a pause leaves in the socket is lost if the process dies, like the reader's queue.</remarks>
    public TimeSpan ReadPause { get; set; }

    /// <summary>Upper bound of the first reconnect delay; doubles per failed attempt.</summary>
    public TimeSpan InitialReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound the reconnect delay never exceeds.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When <see cref="ComponentConnection.RunAsync"/> is cancelled (a graceful stop): zero closes the stream at once,
    /// dropping whatever the server had still to send. Positive: closes our side with &lt;/stream:stream&gt;, then keeps reading
    /// and handing stanzas to the caller until the server closes its side (it does once it has sent what it had buffered for
    /// the component), or this long at most.
    /// </summary>
    /// <remarks>For copies (tap mode), which the server never sends again: draining is what keeps a restart from losing
    /// what the server routed before it. Not for requests that need an answer (inline mode): nothing can be answered on a
    /// closed stream, so the server's own timeout must refuse them.</remarks>
    public TimeSpan DrainOnStop { get; set; } = TimeSpan.Zero;

    /// <summary>Configured as the standby of a failover pair: another instance is expected to hold the component, so the
    /// server's <c>conflict</c> is the normal answer, logged once at Information rather than as a Warning.</summary>
    public bool Standby { get; set; }

    /// <summary>While another instance holds the component (the server answers the handshake with <c>conflict</c>), the
    /// next attempt comes this long later (within 20%): the longest the component stays away after the active one's
    /// connection ends. Prosody logs each refused attempt, so not much shorter.</summary>
    public TimeSpan StandbyRetry { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentException"/> when a setting cannot work, so misconfiguration fails at start-up.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
            throw new ArgumentException("Host must be set.", nameof(Host));
        if (Port is < 1 or > 65535)
            throw new ArgumentException($"Port {Port} is not a TCP port.", nameof(Port));
        if (!Jid.TryParse(ComponentJid, out var jid) || jid.Local is not null || jid.Resource is not null)
            throw new ArgumentException($"ComponentJid '{ComponentJid}' must be a bare domain such as archive.example.test.", nameof(ComponentJid));
        if (string.IsNullOrEmpty(Secret))
            throw new ArgumentException("Secret must be set (Prosody's component_secret).", nameof(Secret));
        if (ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentException("ConnectTimeout must be positive.", nameof(ConnectTimeout));
        if (MaxStanzaBytes <= 0)
            throw new ArgumentException("MaxStanzaBytes must be positive.", nameof(MaxStanzaBytes));
        if (MaxTokenBytes <= 0)
            throw new ArgumentException("MaxTokenBytes must be positive.", nameof(MaxTokenBytes));
        if (InitialReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < InitialReconnectDelay)
            throw new ArgumentException("Reconnect delays must be positive and MaxReconnectDelay >= InitialReconnectDelay.", nameof(MaxReconnectDelay));
        if (StandbyRetry <= TimeSpan.Zero)
            throw new ArgumentException("StandbyRetry must be positive.", nameof(StandbyRetry));
        if (DrainOnStop < TimeSpan.Zero)
            throw new ArgumentException("DrainOnStop must be zero (no drain) or positive.", nameof(DrainOnStop));
    }
}
