using ImLogger.Conversations;

namespace ImLogger.Classifier;

/// <summary>
/// What the classifier made of one stanza: the events to archive, or none and why (the reason is
/// logged, so an operator can tell "ignored on purpose" from "lost").
/// </summary>
public sealed record Classification(IReadOnlyList<ConversationEvent> Events, string Reason)
{
    /// <summary>The room (bare JID) this stanza proves end-to-end encrypted: set only for ciphertext the room itself
    /// reflected (type groupchat, from room@service/nick) to a logged user it knows as an occupant; otherwise null.</summary>
    public string? EncryptedRoom { get; init; }

    /// <summary>Set on an ignored stanza that repeats what another copy already put in the archive (a room's reflection
    /// of a subject, another copy of a call's signal): the coverage pass adds nothing for it.</summary>
    public bool AlreadyArchived { get; init; }

    public static Classification Ignored(string reason) => new([], reason);

    /// <summary>Ignored because another copy of the same thing is archived (<see cref="AlreadyArchived"/>).</summary>
    public static Classification Repeat(string reason) => new([], reason) { AlreadyArchived = true };

    public static Classification Of(ConversationEvent e, string reason) => new([e], reason);
}
