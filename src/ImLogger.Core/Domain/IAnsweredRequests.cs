using ImLogger.Conversations;

namespace ImLogger.Domain;

/// <summary>
/// Inline, fail-closed: what each answered verdict request archived as allowed, kept in the spool so that a refusal the
/// server's module reports later (its verdict came too late, or ImLogger was killed before it went out and the stanza
/// waited past the module's timeout) marks those events NOT DELIVERED even when the report reaches another run of
/// ImLogger than the one that stored them (docs/inline-protocol.md, "refused").
/// </summary>
/// <remarks>Writes are queued and made durable with the next events the spool appends, in the same transaction (no fsync
/// of their own on the ingest path), or by <see cref="FlushAnswered"/> when a batch appends nothing. The caller sends a
/// verdict only after one of those returned, so a request answered is a request remembered.</remarks>
public interface IAnsweredRequests
{
    /// <summary>Queues what <paramref name="requestId"/> archived as allowed (light copies: no raw XML, text cut), with the
    /// digest of each one's full content (<paramref name="contents"/>, in the same order), by which a copy of it is known
    /// again (<see cref="AnsweredSince"/>).</summary>
    void RememberAnswered(string requestId, IReadOnlyList<ConversationEvent> allowed, IReadOnlyList<byte[]>? contents = null);

    /// <summary>What the requests answered within the last <paramref name="window"/> archived as allowed, by this run or
    /// an earlier one, whatever became of their transcripts since (closed at a graceful stop, delivered): at start, so
    /// that a stanza the server's module sends again (its verdict never reached it) comes in as a repeat. Each light copy
    /// with its content digest, null for a record written before digests were kept.</summary>
    IReadOnlyList<(ConversationEvent Event, byte[]? Content)> AnsweredSince(TimeSpan window);

    /// <summary>What <paramref name="requestId"/> archived as allowed, if remembered and not yet reported refused; the
    /// record is forgotten with the next write (the one that stores the refusal events), so a report sent twice
    /// (the module reports again what rode with a request that was not answered) marks nothing twice.</summary>
    IReadOnlyList<ConversationEvent>? TakeAnswered(string requestId);

    /// <summary>Makes what is queued durable now (a batch that appended no event).</summary>
    void FlushAnswered();
}
