using ImLogger.Domain;

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

/// <summary>
/// An endpoint that may take a transcript as several messages (parts, in order) and can resume after the parts it
/// already accepted, so a retry after a partial failure does not send them again.
/// </summary>
public interface IResumableSink : ITranscriptSink
{
    /// <summary>Delivers what is left of a transcript after <paramref name="resume"/>, calling <paramref name="accepted"/>
    /// after each part the endpoint accepted (the caller records it durably before the next part is sent).</summary>
    /// <param name="transcript">The whole transcript (the same one every time).</param>
    /// <param name="resume">What the endpoint accepted in earlier attempts; <see cref="DeliveryProgress.None"/> at first.</param>
    /// <param name="accepted">Called with the new progress after each accepted part.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The receipt (server replies), as <see cref="ITranscriptSink.DeliverAsync"/>.</returns>
    /// <exception cref="SinkException">Delivery failed; what was accepted so far was reported through <paramref name="accepted"/>.</exception>
    Task<string> DeliverAsync(Transcript transcript, DeliveryProgress resume, Action<DeliveryProgress> accepted, CancellationToken cancellationToken);
}

/// <summary>How far a delivery in parts got: the parts an endpoint accepted, and how many of the transcript's events
/// (from the first, in order) they carried in full. Parts go in order, so what was accepted is always a prefix.</summary>
/// <param name="PartsAccepted">Parts accepted (the next part is number PartsAccepted + 1).</param>
/// <param name="EventsAccepted">Events carried in full by those parts (an event cut into pieces counts once all its
/// pieces are accepted).</param>
public readonly record struct DeliveryProgress(int PartsAccepted, int EventsAccepted)
{
    /// <summary>Nothing accepted yet.</summary>
    public static readonly DeliveryProgress None = new(0, 0);

    /// <summary>An earlier attempt's outcome was unknown (<see cref="SinkException.OutcomeUnknown"/>): the endpoint may
    /// already hold the next message, so the sink marks it as a resend when it sends it again.</summary>
    public bool CopyMayExist { get; init; }
}

/// <summary>What a failed delivery means for the transcript: retry, give up, or wait because a copy may have arrived.</summary>
public enum SinkFailure
{
    /// <summary>Trying again later may succeed (endpoint down, disk full, 4xx reply): retried with backoff.</summary>
    Transient,

    /// <summary>Trying again cannot succeed (content rejected, 5xx reply): the delivery becomes a dead letter for an
    /// operator to look at.</summary>
    Permanent,

    /// <summary>The endpoint may have accepted the transcript although the delivery failed (an SMTP server that had the
    /// whole message but whose reply never came, RFC 1047): not retried at once, and the next attempt says it is a resend.
    /// Retried like a transient failure, only later.</summary>
    OutcomeUnknown,
}

/// <summary>A delivery failed; <see cref="Failure"/> says what that means for the transcript.</summary>
/// <remarks>A sink throws this for every failure it understands. Anything else a sink throws is treated as transient
/// (the dispatcher cannot know better), so a plug-in that lets an unexpected exception escape gets retries, not a
/// lost transcript.</remarks>
public sealed class SinkException : Exception
{
    /// <summary>A transient (<paramref name="isTransient"/>) or permanent failure.</summary>
    /// <param name="message">What went wrong and, where it helps, what the operator can do (never a secret).</param>
    /// <param name="isTransient">True for <see cref="SinkFailure.Transient"/>, false for <see cref="SinkFailure.Permanent"/>.</param>
    /// <param name="inner">The cause.</param>
    public SinkException(string message, bool isTransient, Exception? inner = null) : base(message, inner) => IsTransient = isTransient;

    /// <summary>A failure of the given kind.</summary>
    /// <param name="message">What went wrong (never a secret).</param>
    /// <param name="failure">What it means for the transcript.</param>
    /// <param name="inner">The cause.</param>
    public SinkException(string message, SinkFailure failure, Exception? inner = null) : base(message, inner)
    {
        IsTransient = failure != SinkFailure.Permanent;
        OutcomeUnknown = failure == SinkFailure.OutcomeUnknown;
    }

    /// <summary>What the failure means for the transcript.</summary>
    public SinkFailure Failure => OutcomeUnknown ? SinkFailure.OutcomeUnknown : IsTransient ? SinkFailure.Transient : SinkFailure.Permanent;

    /// <summary>True when trying again later may succeed (endpoint down, disk full); false when it cannot (rejected content).</summary>
    public bool IsTransient { get; }

    /// <summary>True when the endpoint may have accepted the transcript although the delivery failed: an SMTP server that
    /// had the whole message but whose reply to the end of its data never came (RFC 1047). The caller does not retry at
    /// once, records that a copy may exist, and the next attempt says it is a resend (same Message-ID).</summary>
    public bool OutcomeUnknown { get; init; }
}
