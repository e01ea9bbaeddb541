using System.Xml.Linq;
using ImLogger.Conversations;

namespace ImLogger.Ingest;

/// <summary>
/// What the ingest loop does with one batch: decode, classify, decide and notify once (<see cref="Classify"/>), then
/// store until it is durable (<see cref="Store"/>, which may be retried). The stanza pipeline (ImLogger.Pipeline) in
/// production.
/// </summary>
public interface IIngestStages
{
    /// <summary>Classifies a batch once (it is stateful: rooms, dedup, seats).</summary>
    /// <returns>The events to store, and the stanzas owed in reply, in the order they must go out.</returns>
    (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Replies) Classify(IReadOnlyList<XElement> stanzas);

    /// <summary>Writes the events; durable when it returns.</summary>
    /// <returns>Ids of transcripts closed on the way.</returns>
    /// <exception cref="Exception">The spool could not write: call again with the same events.</exception>
    IReadOnlyList<string> Store(IReadOnlyList<ConversationEvent> events);

    /// <summary>What became of the replies the loop tried to send (notices are recorded as sent only once they went out).</summary>
    /// <param name="replies">Each reply sent, with why it did not go out (null: written to the connection).</param>
    /// <returns>Events to store about them (none by default).</returns>
    IReadOnlyList<ConversationEvent> Sent(IReadOnlyList<(XElement Reply, string? Failure)> replies) => [];

    /// <summary>Events stored since start.</summary>
    long SpooledCount { get; }
}
