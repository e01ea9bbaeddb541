using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Notifier;
using Microsoft.Extensions.Logging;

namespace ImLogger.Pipeline;

/// <summary>
/// The receiving half of DESIGN.md's pipeline, for one batch of stanzas read from the component
/// stream: envelope decoding, classification, dedup of repeated copies, and the conversation
/// tracker, which writes the batch's events to the spool in one durable transaction.
/// </summary>
/// <remarks>Called from one loop only (stanzas keep their order).</remarks>
public sealed class StanzaPipeline(
    EnvelopeDecoder decoder,
    StanzaClassifier classifier,
    CopyDeduplicator dedup,
    ConversationTracker tracker,
    ArchiveNotifier notifier,
    ILogger<StanzaPipeline> logger)
{
    private long _spooled;

    /// <summary>Events spooled since start.</summary>
    public long SpooledCount => Interlocked.Read(ref _spooled);

    /// <summary>Decodes, classifies and de-duplicates a batch. Classification is stateful (rooms, dedup), so
    /// this runs once per stanza; only <see cref="Store"/> may be retried.</summary>
    /// <returns>The events to store, and the replies owed to stanzas addressed to the component itself
    /// (an iq must always be answered).</returns>
    public (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Replies) Classify(IReadOnlyList<XElement> stanzas)
    {
        var events = new List<ConversationEvent>();
        var replies = new List<XElement>();
        foreach (var stanza in stanzas)
        {
            var (envelope, rejection, reason) = decoder.Decode(stanza);
            if (envelope == null)
            {
                if (rejection == EnvelopeRejection.NotACopy && ComponentReplies.For(stanza) is { } reply) replies.Add(reply);
                if (rejection is EnvelopeRejection.UntrustedRelay or EnvelopeRejection.Malformed)
                    logger.LogWarning("Stanza not archived: {Reason}", reason);
                else
                    logger.LogDebug("Stanza not archived: {Reason}", reason);
                continue;
            }
            if (IsSignOut(envelope.Stanza))
                notifier.SignedOut(JidText.Bare((string)envelope.Stanza.Attribute("from")!));
            var result = classifier.Classify(envelope);
            if (result.Events.Count == 0)
            {
                logger.LogDebug("{Kind} {Id} not archived: {Reason}", envelope.Stanza.Name.LocalName, (string?)envelope.Stanza.Attribute("id"), result.Reason);
                continue;
            }
            foreach (var e in result.Events)
            {
                if (dedup.IsRepeat(e))
                    logger.LogDebug("{Kind} {StanzaId} in {Key}: repeated copy, archived once", e.Kind, e.StanzaId, e.ConversationKey);
                else
                    events.Add(e);
            }
        }
        // Notices are sent after the batch is stored (the caller sends replies after Store), so the
        // transcript never lacks a notice that went out; a crash in between loses the notice, not the record.
        var (withNotices, notices) = notifier.Observe(events);
        replies.AddRange(notices);
        return (withNotices, replies);
    }

    /// <summary>An unavailable presence broadcast (no to): that session signed out.</summary>
    private static bool IsSignOut(XElement stanza) =>
        stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable"
        && stanza.Attribute("to") == null && stanza.Attribute("from") != null;

    /// <summary>Writes events to their transcripts in the spool; durable when it returns.</summary>
    /// <returns>Ids of transcripts closed on the way (their conversation had gone idle).</returns>
    /// <exception cref="Exception">The spool could not write (disk full, I/O error): call again with the same events.</exception>
    public IReadOnlyList<string> Store(IReadOnlyList<ConversationEvent> events)
    {
        var closed = tracker.Append(events);
        if (events.Count > 0)
        {
            Interlocked.Add(ref _spooled, events.Count);
            logger.LogDebug("Spooled {Count} events ({Total} since start)", events.Count, SpooledCount);
        }
        return closed;
    }
}
