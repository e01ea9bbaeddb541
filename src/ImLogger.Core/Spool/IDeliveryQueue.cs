namespace ImLogger.Spool;

/// <summary>
/// The delivery queue: closed transcripts owed to endpoints, indexed by endpoint, state and next attempt, so what is due
/// and the backlog's counts are read from index ranges and counters whatever the backlog's size. The port of the
/// dispatcher (with <see cref="ITranscriptReader"/> to load what it delivers), the metrics and the status.
/// </summary>
public interface IDeliveryQueue
{
    /// <summary>Closed transcripts with a delivery to <paramref name="endpoint"/> in state Pending whose next attempt is due at
    /// <paramref name="nowUtc"/>, at most <paramref name="max"/>: first those never tried (oldest closed first), then retries by next attempt.</summary>
    IReadOnlyList<TranscriptHeader> DueForDelivery(string endpoint, DateTimeOffset nowUtc, int max);

    /// <summary>Closed transcripts with a delivery to <paramref name="endpoint"/> in state Pending whose next attempt lies after
    /// <paramref name="afterUtc"/>, earliest next attempt first, at most <paramref name="max"/>: the retries a clock that ran
    /// fast pushed out of reach (<c>RetrySchedule</c>). Read from the same index range as <see cref="DueForDelivery"/>.</summary>
    IReadOnlyList<TranscriptHeader> ScheduledAfter(string endpoint, DateTimeOffset afterUtc, int max);

    /// <summary>All transcripts that are not open (pending and dead deliveries), oldest closed first. Reads every header:
    /// for tests and for looking one up. The service never calls it: status and reports use <see cref="Backlog"/>, the
    /// dispatcher <see cref="DueForDelivery"/> and <see cref="ScheduledAfter"/>, index ranges read a page at a time.</summary>
    IReadOnlyList<TranscriptHeader> Undelivered();

    /// <summary>Per endpoint owed anything, its pending and dead deliveries and its oldest transcript, without reading the
    /// backlog.</summary>
    IReadOnlyList<EndpointBacklog> Backlog();

    /// <summary>How many closed transcripts are still owed to some endpoint (a counter kept with the queue).</summary>
    int UndeliveredCount();

    /// <summary>Records that <paramref name="endpoint"/> confirmed delivery. When no endpoint is owed it any more,
    /// the transcript and its events are deleted from the spool.</summary>
    void MarkDelivered(string transcriptId, string endpoint);

    /// <summary>Records that <paramref name="endpoint"/> accepted a part of a transcript sent in parts, before the next part
    /// is sent: a retry after a later failure (or a crash) resumes after it instead of sending it again. Kept when the
    /// delivery fails, becomes dead or is requeued.</summary>
    /// <param name="transcriptId">The transcript.</param>
    /// <param name="endpoint">The endpoint.</param>
    /// <param name="partsAccepted">Parts accepted so far.</param>
    /// <param name="eventsAccepted">Events those parts carried in full.</param>
    void RecordPartsAccepted(string transcriptId, string endpoint, int partsAccepted, int eventsAccepted);

    /// <summary>Records that an attempt's outcome was unknown: the endpoint may already hold a copy (kept until the delivery
    /// succeeds; the first time is kept). Shown by <c>imlogger spool status</c> and <c>show</c>; the next attempt is marked as
    /// a resend.</summary>
    void RecordCopyMayExist(string transcriptId, string endpoint, DateTimeOffset atUtc);

    /// <summary>Records a failed attempt: the next attempt time, or the dead state with its reason.</summary>
    void RecordFailure(string transcriptId, string endpoint, string error, DateTimeOffset? nextAttemptUtc, bool dead);

    /// <summary>Puts dead deliveries back to pending, due at once (the operator's <c>imlogger spool retry</c> after fixing the
    /// endpoint): attempts start again from zero; the last error stays until the next attempt replaces it. Quarantined
    /// transcripts are left out (released with the quarantine's own command).</summary>
    /// <param name="endpoint">Only this endpoint's dead letters; null for all.</param>
    /// <returns>How many deliveries were requeued.</returns>
    int RequeueDead(string? endpoint);
}
