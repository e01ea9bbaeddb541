namespace ImLogger.Xmpp;

/// <summary>Base class of the errors raised by <see cref="ComponentConnection"/>.</summary>
public class ComponentException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ComponentException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>
/// An error that reconnecting cannot fix (wrong secret, unknown component domain...): the configuration must change.
/// </summary>
public sealed class ComponentFatalException : ComponentException
{
    /// <summary>Creates the exception for the given stream error condition.</summary>
    public ComponentFatalException(string condition, string message, Exception? innerException = null)
        : base(message, innerException) => Condition = condition;

    /// <summary>The RFC 6120 stream error condition, e.g. <c>not-authorized</c>.</summary>
    public string Condition { get; }
}

/// <summary>Thrown by <see cref="ComponentConnection.SendAsync"/> when no stream is established.</summary>
public sealed class ComponentNotConnectedException : ComponentException
{
    /// <summary>Creates the exception.</summary>
    public ComponentNotConnectedException(string message = "The component is not connected to the XMPP server.", Exception? innerException = null)
        : base(message, innerException) { }
}

/// <summary>A single XML token (a start tag with its attributes, a comment) exceeded <see cref="ComponentConnectionOptions.MaxTokenBytes"/>:
/// the one size limit that ends the connection (a stanza over <see cref="ComponentConnectionOptions.MaxStanzaBytes"/> is skipped by itself).</summary>
internal sealed class TokenTooLargeException(long limit)
    : IOException($"the server sent a single XML token (a start tag with its attributes) larger than {limit} bytes (MaxTokenBytes)")
{
    public long Limit { get; } = limit;
}

/// <summary>The server broke the protocol in a way the XML parser itself does not catch.</summary>
internal sealed class ProtocolViolationException(string message) : Exception(message);

/// <summary>The TCP connect itself failed, as opposed to losing an established stream.</summary>
internal sealed class ServerUnreachableException(string message, Exception inner) : IOException(message, inner);

/// <summary>The server ended the stream with an error that a reconnect may cure.</summary>
internal sealed class RetryableStreamErrorException(StreamError error) : Exception(error.Explain())
{
    public StreamError Error { get; } = error;
}

/// <summary>Wraps an exception thrown by the caller's stanza handler so the loop does not mistake it for a network error.</summary>
internal sealed class StanzaHandlerException(Exception inner) : Exception("The stanza handler failed.", inner);
