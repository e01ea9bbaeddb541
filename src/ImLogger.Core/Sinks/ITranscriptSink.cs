using ImLogger.Conversations;

namespace ImLogger.Sinks;

/// <summary>
/// An archive endpoint. <see cref="DeliverAsync"/> returns only once the endpoint has the transcript
/// (file renamed into place and synced, SMTP server accepted the DATA, ...).
/// </summary>
/// <remarks>
/// Delivery must be idempotent at the endpoint: delivering the same transcript twice (after a crash
/// between delivery and <c>MarkDelivered</c>) overwrites or repeats the same identity (file name,
/// Message-ID), never a second distinct copy.
/// </remarks>
public interface ITranscriptSink
{
    /// <summary>The endpoint's configured name (no spaces, unique).</summary>
    string Name { get; }

    /// <summary>Delivers one transcript.</summary>
    /// <exception cref="SinkException">Delivery failed; <see cref="SinkException.IsTransient"/> says whether to retry.</exception>
    Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken);
}

/// <summary>A delivery failed. Transient failures are retried with backoff; permanent ones become dead letters.</summary>
public sealed class SinkException : Exception
{
    public SinkException(string message, bool isTransient, Exception? inner = null) : base(message, inner) => IsTransient = isTransient;

    /// <summary>True when trying again later may succeed (endpoint down, disk full); false when it cannot (rejected content).</summary>
    public bool IsTransient { get; }
}
