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
    /// failed, see <see cref="IDeliveryQueue.RecordCopyMayExist"/>); null when every attempt's outcome was known.</summary>
    public DateTimeOffset? CopyMayExistSinceUtc { get; init; }
}

/// <summary>An event to append, with the transcript it belongs to.</summary>
public readonly record struct SpoolAppend(string TranscriptId, ConversationEvent Event);

/// <summary>
/// The durable store between receipt and delivery, as the host wires it: every port of the spool on one store (LiteDB
/// underneath, one database and one transaction per write). Stages depend on the narrowest port they use
/// (<see cref="ITranscriptStore"/>, <see cref="ITranscriptReader"/>, <see cref="IDeliveryQueue"/>,
/// <see cref="IActivityLog"/>, <see cref="ISpoolHealth"/>, and the registries of seats and rooms, continuity and answered
/// requests, declared in the namespaces that use them), never on this one or on the implementation. The unit of work
/// (<see cref="ImLogger.Domain.IUnitOfWork"/>) is offered beside it, not through it: stages ask for it by its own port. Every
/// method that writes returns only once the write is on disk (fsync), so whatever it acknowledged survives a crash of the
/// process and a power loss. No port names a LiteDB type, and a storage failure leaves every port as the spool's own
/// exception (<see cref="ImLogger.Domain.SpoolUnavailableException"/>, <see cref="SpoolRecordException"/>, ...).
/// </summary>
/// <remarks>Thread-safe: the pipeline and the dispatcher use it concurrently.</remarks>
public interface ISpool : ITranscriptStore, IDeliveryQueue, IActivityLog, ISpoolHealth, ImLogger.Seats.ISeenUsers,
    ImLogger.Policy.IEncryptedRoomStore, ImLogger.Continuity.IContinuityStore, ImLogger.Domain.IAnsweredRequests, IDisposable;

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
