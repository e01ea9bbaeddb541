using ImLogger.Conversations;

namespace ImLogger.Sinks;

// A message the server bounced (issue 19) reads as bounced, not as said: the error the server sent back with the
// message's id (Classifier/StanzaClassifier.Bounces.cs) marks the message's line with the server's condition. The error
// itself stays a line of its own (the evidence, with its raw XML).
public sealed partial class TranscriptMessageBuilder
{
    internal sealed partial class MessageIndex
    {
        private readonly Dictionary<string, List<ConversationEvent>> _bounces = new(StringComparer.Ordinal);

        private void IndexBounces(IEnumerable<ConversationEvent> events)
        {
            foreach (var e in events)
            {
                if (e.Kind != EventKind.Unclassified || e.StanzaType != "error" || string.IsNullOrEmpty(e.StanzaId)
                    || e.Reason?.StartsWith(Bounce.ReasonPrefix, StringComparison.Ordinal) != true) continue;
                if (!_bounces.TryGetValue(e.StanzaId, out var list)) _bounces[e.StanzaId] = list = [];
                list.Add(e);
            }
        }

        /// <summary>The server's condition when an error came back for <paramref name="message"/>: same id, later, from
        /// exactly the address the message went to (a room, or the account that does not exist). Null when it was not
        /// bounced.</summary>
        public string? BouncedWith(ConversationEvent message)
        {
            foreach (var id in new[] { message.StanzaId, message.OriginId })
                if (!string.IsNullOrEmpty(id) && _bounces.TryGetValue(id, out var errors))
                    foreach (var error in errors)
                        if (error.ReceivedUtc >= message.ReceivedUtc && SameAddress(error.From, message.To))
                            return error.Reason![Bounce.ReasonPrefix.Length..];
            return null;
        }

        // The server answers from the address the message was sent to, resource and all (Prosody's error_reply,
        // ejabberd's make_error swap from and to). A client always sends from its full JID (both servers stamp it), so
        // the recipient's own client answering a message sent to its bare JID with an error is no bounce: it got it.
        private static bool SameAddress(string? from, string? to) =>
            string.Equals(Bare(from), Bare(to), StringComparison.OrdinalIgnoreCase)
            && string.Equals(Resource(from), Resource(to), StringComparison.Ordinal);
    }

    /// <summary>" [BOUNCED by the server: cancel/item-not-found]" for a message the server sent back, else "".</summary>
    private static string BouncedNote(ConversationEvent e, MessageIndex index) =>
        e.Kind == EventKind.Message && index.BouncedWith(e) is { } condition ? $" [BOUNCED by the server: {Line(condition)}; not delivered]" : "";
}
