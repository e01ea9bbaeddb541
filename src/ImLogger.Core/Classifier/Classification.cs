using ImLogger.Conversations;

namespace ImLogger.Classifier;

/// <summary>
/// What the classifier made of one stanza: the events to archive, or none and why (the reason is
/// logged, so an operator can tell "ignored on purpose" from "lost").
/// </summary>
public sealed record Classification(IReadOnlyList<ConversationEvent> Events, string Reason)
{
    public static Classification Ignored(string reason) => new([], reason);

    public static Classification Of(ConversationEvent e, string reason) => new([e], reason);
}
