using ImLogger.Conversations;

namespace ImLogger.Spool;

/// <summary>Transcripts as they are read back: the open ones (to resume after a restart) and one with all its events (to
/// deliver it, or to recall what it already holds). The port of the stages that only read them: the dispatcher and the
/// ingest loop's recall at start.</summary>
/// <remarks>A transcript with a record this version cannot read is quarantined where it is read and left out
/// (<see cref="SpoolRecordException"/>); storage failures leave as <see cref="ImLogger.Domain.SpoolUnavailableException"/>.</remarks>
public interface ITranscriptReader
{
    /// <summary>Transcripts still open (used at start-up to resume after a crash), oldest opened first. A transcript with a
    /// record this version cannot read is quarantined and left out (<see cref="SpoolRecordException"/>).</summary>
    IReadOnlyList<TranscriptHeader> OpenTranscripts();

    /// <summary>The transcript with all its events, in order of receipt; null if unknown.</summary>
    /// <exception cref="SpoolRecordException">A record of the transcript cannot be read back as written (altered, swapped,
    /// under another key, or holding what this version does not know): the spool has quarantined the transcript, and the
    /// caller goes on with the others.</exception>
    Transcript? Load(string transcriptId);
}

/// <summary>Transcripts and their events: opened per conversation, appended to in order, closed (which queues them for
/// their endpoints, <see cref="IDeliveryQueue"/>). The port of the conversation tracker.</summary>
public interface ITranscriptStore : ITranscriptReader
{
    /// <summary>Creates an open transcript for a conversation, owed to the given endpoints once closed.</summary>
    /// <exception cref="ArgumentException">No endpoint given, or an empty endpoint name.</exception>
    TranscriptHeader OpenTranscript(ConversationType type, string conversationKey, DateTimeOffset openedUtc, IReadOnlyList<string> endpoints);

    /// <summary>Appends events, in order, in one durable transaction. Idempotent by event id: a retry after a failure
    /// does not store an event twice.</summary>
    /// <exception cref="InvalidOperationException">A transcript is unknown or no longer open.</exception>
    void Append(IReadOnlyList<SpoolAppend> events);

    /// <summary>Adds endpoints an open transcript is owed to (a logged user with another endpoint joined the conversation).</summary>
    /// <exception cref="InvalidOperationException">The transcript is unknown or no longer open.</exception>
    void AddEndpoints(string transcriptId, IReadOnlyList<string> endpoints);

    /// <summary>Closes an open transcript: it becomes <see cref="TranscriptState.Pending"/> for its endpoints.
    /// Closing a transcript with no events deletes it; closing a closed one does nothing.</summary>
    /// <exception cref="InvalidOperationException">The transcript is unknown.</exception>
    void Close(string transcriptId, DateTimeOffset closedUtc);
}
