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

    public static Classification Ignored(string reason) => new([], reason);

    public static Classification Of(ConversationEvent e, string reason) => new([e], reason);
}
