namespace ImLogger.Config;

/// <summary>How the SMTP connection is protected.</summary>
public enum SmtpTlsMode
{
    /// <summary>Plain connect, then STARTTLS (RFC 3207), which must succeed before anything else is sent (ports 25 and 587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (RFC 8314, port 465).</summary>
    Implicit,

    /// <summary>No TLS at all. Only with the config's <c>insecure-plaintext-for-lab-only="yes"</c>; never for production.</summary>
    InsecurePlaintext,
}

/// <summary>What every SMTP-based endpoint needs: where, how protected, who authenticates, sender and recipients.</summary>
public abstract record SmtpEndpointConfig : EndpointConfig
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    public required SmtpTlsMode Tls { get; init; }

    /// <summary>SMTP AUTH user name, or null for no authentication.</summary>
    public string? Username { get; init; }

    /// <summary>SMTP AUTH password (with <see cref="Username"/>).</summary>
    public SecretText? Password { get; init; }

    /// <summary>Envelope and header sender.</summary>
    public required string From { get; init; }

    /// <summary>Envelope recipients (at least one).</summary>
    public required IReadOnlyList<string> To { get; init; }

    /// <summary>PEM file of CA certificates the server's certificate must chain to, instead of the system's trust store
    /// (an on-premises server with its own CA). Null: the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>Timeout of each network operation (connect, TLS handshake, each SMTP command).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The config's <c>deadline</c>: how long each step of a delivery may take in all, whatever the server does
    /// per read: connecting (greeting, STARTTLS, login), and then each message from its MAIL FROM to the server's final reply.
    /// Null: <see cref="DeadlineFor"/>'s default.</summary>
    /// <remarks>A server trickling a byte at a time never trips <see cref="Timeout"/> (which is per read); the deadline ends
    /// the session. Too short fails honest large uploads on a slow link (they are retried, and a transcript in parts resumes
    /// after the parts already accepted); too long leaves a stalled endpoint's queue waiting longer.</remarks>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Upload rate the default deadline allows for (128 KiB/s, a slow but working link).</summary>
    public const long DeadlineBytesPerSecond = 128 * 1024;

    /// <summary>The deadline of a step that sends <paramref name="messageBytes"/> (0 for connecting): the configured
    /// <see cref="Deadline"/>, or twice <see cref="Timeout"/> plus the message's size at <see cref="DeadlineBytesPerSecond"/>.</summary>
    public TimeSpan DeadlineFor(long messageBytes) =>
        Deadline ?? (2 * Timeout) + TimeSpan.FromSeconds((double)Math.Max(0, messageBytes) / DeadlineBytesPerSecond);

    /// <summary>Postfix's default <c>message_size_limit</c> (10,240,000 bytes): the default largest message for endpoint
    /// types without a published limit of their own.</summary>
    public const long DefaultMaxMessageBytes = 10_240_000;

    /// <summary>Smallest <see cref="MaxMessageBytes"/> the config accepts: below it a part could not hold a transcript's
    /// heading and one event.</summary>
    public const long MinMaxMessageBytes = 64 * 1024;

    /// <summary>Largest message sent, as it travels (headers and transfer encoding included); the config's
    /// <c>max-message-size</c>. The server's SIZE (RFC 1870, from EHLO) lowers it further when smaller; a longer transcript
    /// is sent as numbered parts.</summary>
    /// <remarks>Too high costs a refused upload (the sink then halves the part size and tries again in the same session);
    /// too low only costs more, smaller parts.</remarks>
    public long MaxMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>Equal when every setting is (recipients in order, the password by <see cref="SecretText.Equals(SecretText)"/>):
    /// a reload rebuilds the endpoint's sink exactly when this says it changed.</summary>
    /// <remarks>Written out because a record compares lists by reference. A setting added here must be added below too;
    /// EndpointConfigEqualityTests changes each property in turn and fails when one is missed.</remarks>
    public virtual bool Equals(SmtpEndpointConfig? other) =>
        ReferenceEquals(this, other) ||
        (other is not null && base.Equals(other) && Host == other.Host && Port == other.Port && Tls == other.Tls && Username == other.Username &&
         Equals(Password, other.Password) && From == other.From && To.SequenceEqual(other.To, StringComparer.Ordinal) &&
         CaFile == other.CaFile && Timeout == other.Timeout && Deadline == other.Deadline && MaxMessageBytes == other.MaxMessageBytes);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), Host, Port, From, To.Count);
}

/// <summary>Transcripts as e-mail (text and HTML alternatives) into the organization's own mail archive.</summary>
public sealed record SecureSmtpEndpointConfig : SmtpEndpointConfig
{
    /// <inheritdoc />
    public override string TypeName => "secure-smtp";

    /// <summary>Subject template; placeholders {conversation}, {participants}, {messages}, {start}, {end}, {type}.
    /// Null: the transcript builder's subject.</summary>
    public string? SubjectTemplate { get; init; }
}

/// <summary>Global Relay Message Archiver: one EML per conversation over SMTP/TLS, in Global Relay's conventions.</summary>
public sealed record GlobalRelayEndpointConfig : SmtpEndpointConfig
{
    /// <inheritdoc />
    public override string TypeName => "global-relay";

    /// <summary>Global Relay's published limit of one EML.</summary>
    public const long MaxEmlBytes = 250L * 1024 * 1024;

    /// <summary>Creates the settings with Global Relay's own limit as the default <see cref="SmtpEndpointConfig.MaxMessageBytes"/>.</summary>
    public GlobalRelayEndpointConfig() => MaxMessageBytes = MaxEmlBytes;

    /// <summary>The X-GlobalRelay-MsgType header (the source system's name).</summary>
    public string MessageType { get; init; } = "XMPP";

    /// <summary>How a participant's bare JID becomes an e-mail address: {jid}, {local} and {domain} are replaced.</summary>
    public string AddressTemplate { get; init; } = "{jid}";
}

/// <summary>HP Autonomy DRC-CM journaling: readable transcript body plus the conversation as an XML attachment.</summary>
public sealed record DrcCmEndpointConfig : SmtpEndpointConfig
{
    /// <inheritdoc />
    public override string TypeName => "drc-cm";

    /// <summary>Subject template as for <see cref="SecureSmtpEndpointConfig.SubjectTemplate"/>.</summary>
    public string? SubjectTemplate { get; init; }
}
