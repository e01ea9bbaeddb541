using ImLogger.Conversations;

namespace ImLogger.Spool;

/// <summary>Where a transcript is in its life: receiving events, waiting for delivery, or given up on.</summary>
public enum TranscriptState
{
    /// <summary>Still receiving events.</summary>
    Open,
    /// <summary>Closed; waiting for (or retrying) delivery to one or more endpoints.</summary>
    Pending,
}

/// <summary>Delivery state of one transcript to one endpoint.</summary>
public enum DeliveryState
{
    Pending,
    /// <summary>Retries exhausted or a permanent failure; kept for the operator (never deleted silently).</summary>
    Dead,
}

/// <summary>A transcript's bookkeeping in the spool, without its events.</summary>
public sealed record TranscriptHeader
{
    public required string Id { get; init; }
    public required ConversationType ConversationType { get; init; }
    public required string ConversationKey { get; init; }
    public required DateTimeOffset OpenedUtc { get; init; }
    /// <summary>Receipt time of the newest event (drives the idle close).</summary>
    public required DateTimeOffset LastEventUtc { get; init; }
    public DateTimeOffset? ClosedUtc { get; init; }
    public required TranscriptState State { get; init; }
    public required int EventCount { get; init; }
    /// <summary>Endpoints still owed this transcript, with their state. Delivered ones are removed.</summary>
    public required IReadOnlyList<EndpointDelivery> Deliveries { get; init; }
}

/// <summary>One endpoint's delivery of one transcript.</summary>
public sealed record EndpointDelivery
{
    public required string Endpoint { get; init; }
    public required DeliveryState State { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset? NextAttemptUtc { get; init; }
    public string? LastError { get; init; }

    /// <summary>Parts of a transcript sent in parts that the endpoint accepted in earlier attempts (0: none).</summary>
    public int PartsAccepted { get; init; }

    /// <summary>Events (from the first, in order) those accepted parts carried in full; a retry sends only the rest.</summary>
    public int EventsAccepted { get; init; }

    /// <summary>When an attempt's outcome was first unknown (the endpoint may have accepted a copy although the attempt
    /// failed, see <see cref="ISpool.RecordCopyMayExist"/>); null when every attempt's outcome was known.</summary>
    public DateTimeOffset? CopyMayExistSinceUtc { get; init; }
}

/// <summary>An event to append, with the transcript it belongs to.</summary>
public readonly record struct SpoolAppend(string TranscriptId, ConversationEvent Event);

/// <summary>
/// The durable store between receipt and delivery (LiteDB). Every method that writes returns only
/// once the write is on disk (fsync), so whatever it acknowledged survives a crash of the process
/// and a power loss.
/// </summary>
/// <remarks>Thread-safe: the pipeline and the dispatcher use it concurrently.</remarks>
public interface ISpool : IDisposable
{
    /// <summary>Creates an open transcript for a conversation, owed to the given endpoints once closed.</summary>
    /// <exception cref="ArgumentException">No endpoint given.</exception>
    TranscriptHeader OpenTranscript(ConversationType type, string conversationKey, DateTimeOffset openedUtc, IReadOnlyList<string> endpoints);

    /// <summary>Appends events, in order, in one durable transaction.</summary>
    /// <exception cref="InvalidOperationException">A transcript is unknown or no longer open.</exception>
    void Append(IReadOnlyList<SpoolAppend> events);

    /// <summary>Adds endpoints an open transcript is owed to (a logged user with another endpoint joined the conversation).</summary>
    void AddEndpoints(string transcriptId, IReadOnlyList<string> endpoints);

    /// <summary>Closes an open transcript: it becomes <see cref="TranscriptState.Pending"/> for its endpoints.
    /// Closing a transcript with no events deletes it.</summary>
    void Close(string transcriptId, DateTimeOffset closedUtc);

    /// <summary>Transcripts still open (used at start-up to resume after a crash). Here and in the other listings, a
    /// transcript with a record this version cannot read is quarantined and left out (<see cref="SpoolRecordException"/>).</summary>
    IReadOnlyList<TranscriptHeader> OpenTranscripts();

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

    /// <summary>The transcript with all its events, in order of receipt; null if unknown.</summary>
    /// <exception cref="SpoolRecordException">A record of the transcript cannot be read back as written (altered, swapped,
    /// under another key, or holding what this version does not know): the spool has quarantined the transcript, and the
    /// caller goes on with the others.</exception>
    Transcript? Load(string transcriptId);

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

    /// <summary>Per logged user, the events captured and refused on UTC days from <paramref name="sinceUtc"/>'s day on, and the
    /// last event's time. Counted when events are appended, kept after the transcripts are delivered (for <c>imlogger report</c>).</summary>
    IReadOnlyList<UserActivity> Activity(DateTimeOffset sinceUtc);
}

/// <summary>What the spool has seen of one logged user over a period.</summary>
/// <param name="User">Bare JID.</param>
/// <param name="Captured">Events archived for the user (archive notices not counted).</param>
/// <param name="Refused">Stanzas of the user refused by the policy (inline mode), each archived as a refusal.</param>
/// <param name="LastActivityUtc">Receipt time of the user's newest event.</param>
public sealed record UserActivity(string User, long Captured, long Refused, DateTimeOffset LastActivityUtc)
{
    /// <summary>The refusals by policy rule (for example <see cref="RefusalRule.UnapprovedClient"/>), summing to <see cref="Refused"/>.</summary>
    public IReadOnlyDictionary<RefusalRule, long> RefusedBy { get; init; } = new Dictionary<RefusalRule, long>();

    /// <summary>Receipt time of the newest archived (not refused) stanza the user sent, if any.</summary>
    public DateTimeOffset? LastCapturedUtc { get; init; }

    /// <summary>The newest refusal of a stanza the user sent, and its rule, if any.</summary>
    public (DateTimeOffset AtUtc, RefusalRule Rule)? LastRefusal { get; init; }

    /// <summary>The rule refusing what the user sends lately: their newest refused stanza is newer than their newest
    /// archived one (a user on an unapproved client, say). Null when the last stanza they sent was archived.</summary>
    public RefusalRule? BlockedBy =>
        LastRefusal is { } r && (LastCapturedUtc is not { } c || r.AtUtc > c) ? r.Rule : null;
}

/// <summary>What one endpoint is owed, from the spool's delivery queue (counters and one index lookup: cheap whatever the backlog).</summary>
/// <param name="Endpoint">The endpoint's name.</param>
/// <param name="Pending">Closed transcripts waiting for (or retrying) delivery to it.</param>
/// <param name="Dead">Its dead letters: retries exhausted or a permanent failure.</param>
public sealed record EndpointBacklog(string Endpoint, int Pending, int Dead)
{
    /// <summary>Close time of the oldest transcript owed to it (pending or dead).</summary>
    public DateTimeOffset? OldestClosedUtc { get; init; }

    /// <summary>That oldest transcript's next attempt, if one is scheduled.</summary>
    public DateTimeOffset? OldestNextAttemptUtc { get; init; }

    /// <summary>Attempts made at that oldest transcript.</summary>
    public int OldestAttempts { get; init; }

    /// <summary>The last error of that oldest transcript's delivery, if it failed.</summary>
    public string? OldestLastError { get; init; }

    /// <summary>Transcripts owed to it of which a copy may already be in its archive (an attempt's outcome was unknown).</summary>
    public int CopiesMayExist { get; init; }
}
