using ImLogger.Conversations;

namespace ImLogger.Pipeline;

public sealed partial class StanzaPipeline
{
    /// <summary>
    /// A held stanza allowed as a repeat was archived before (a request sent again after ImLogger was killed before its
    /// verdict; the copy held for the recipient of a message between two logged users). If this request is then reported
    /// refused, that record must be marked NOT DELIVERED too: the repeat is remembered with the request, once per
    /// message (the sender's and the recipient's copies of one message in one request are one record).
    /// </summary>
    private static void AllowedAgain(List<ConversationEvent> repeats, List<ConversationEvent> allowed)
    {
        foreach (var r in repeats)
        {
            if (!allowed.Any(a => SameRecord(a, r))) allowed.Add(r);
        }
    }

    private static bool SameRecord(ConversationEvent a, ConversationEvent b) =>
        a.Kind == b.Kind && a.ConversationKey == b.ConversationKey && a.Text == b.Text
        && (a.OriginId ?? a.StanzaId ?? a.ServerStanzaId) == (b.OriginId ?? b.StanzaId ?? b.ServerStanzaId);
}
