using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

// A message the server bounced (issue 19): an error message carrying the id of the stanza it answers (the server or a
// room sends back what it could not deliver: item-not-found for a room that is gone, service-unavailable for an account
// that does not exist). It is kept even without text, with its type and condition, so the transcript marks the message
// it bounced ("BOUNCED by the server: cancel/item-not-found", Sinks/TranscriptMessageBuilder.Bounces.cs). An error
// without an id answers nothing that can be found: it stays content-free (ignored unless it has text).
public sealed partial class StanzaClassifier
{
    /// <summary>Group chat messages logged users sent lately ("user\0id" to the room), so that the bounce of one is found
    /// in the room's transcript also when the room is gone (destroyed: the user is no longer known in it). Bounded: the
    /// oldest are forgotten first; a server answers within seconds.</summary>
    private readonly Dictionary<string, string> _sentToRooms = new(StringComparer.Ordinal);
    private readonly Queue<string> _sentToRoomsOrder = new();
    private const int MaxSentToRooms = 4096;

    private void SentToRoom(string user, string room, string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 256) return;
        var key = user + "\u0000" + id;
        if (_sentToRooms.TryAdd(key, room)) _sentToRoomsOrder.Enqueue(key);
        else _sentToRooms[key] = room;
        while (_sentToRoomsOrder.Count > MaxSentToRooms) _sentToRooms.Remove(_sentToRoomsOrder.Dequeue());
    }

    /// <summary>An error from a room the logged user is known in, or answering a message they sent to that room, belongs
    /// to that room's transcript (where the message it bounces is); any other error is one-to-one.</summary>
    private Scope? BounceScope(string from, string to, string? id)
    {
        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        if (JidText.Resource(from) == null && isLogged(toBare)
            && (_rooms.IsKnownRoom(fromBare) || (!string.IsNullOrEmpty(id) && _sentToRooms.TryGetValue(toBare + "\u0000" + id, out var room) && room == fromBare)))
            return new Scope(ConversationType.GroupChat, fromBare, Direction.Incoming, [toBare], null, null);
        return OneToOne(from, to);
    }

    private static Classification? Bounce(TapEnvelope env, Scope scope, string from, string to)
    {
        var s = env.Stanza;
        if ((string?)s.Attribute("id") is not { Length: > 0 }) return null;
        var error = s.Elements().FirstOrDefault(e => e.Name.LocalName == "error");
        var name = error?.Elements().FirstOrDefault(e => e.Name.Namespace == Ns.Stanzas && e.Name.LocalName != "text")?.Name.LocalName ?? "undefined-condition";
        // Whoever bounced it wrote both (a remote server may be hostile): one short printable line, as for a notice's bounce.
        var condition = ImLogger.Domain.NoticeOutcome.Safe((string?)error?.Attribute("type") is { Length: > 0 } t ? t + "/" + name : name);
        var text = ReadableText(s);
        return Classification.Of(Event(env, EventKind.Unclassified, scope, from, to) with
            {
                Text = $"error message ({condition})" + (text != null ? ": " + text : ""),
                Reason = ImLogger.Domain.Bounce.ReasonPrefix + condition,
            },
            "error message answering a stanza, archived with its raw XML (marks the stanza it bounced)");
    }
}
