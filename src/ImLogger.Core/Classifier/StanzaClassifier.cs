using System.Globalization;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

/// <summary>
/// Turns one copied stanza of a logged user into conversation events: chat and group chat text
/// (with the XHTML-IM alternative and its emoticon text), and group chat joins and leaves.
/// Each decision comes with a reason, logged by the caller.
/// </summary>
/// <remarks>Not thread-safe: the pipeline classifies stanzas one at a time, in order of receipt.</remarks>
public sealed partial class StanzaClassifier(Func<string, bool> isLogged)
{
    private readonly RoomRoster _rooms = new();

    /// <summary>Classifies one stanza.</summary>
    public Classification Classify(TapEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var s = envelope.Stanza;
        var from = JidText.Normalize((string?)s.Attribute("from") ?? "");
        var to = JidText.Normalize((string?)s.Attribute("to") ?? "");
        if (from.Length == 0 || to.Length == 0)
            return Classification.Ignored($"{s.Name.LocalName} without from or to");
        return s.Name.LocalName switch
        {
            "message" => ClassifyMessage(envelope, from, to),
            "presence" => ClassifyPresence(envelope, from, to),
            _ => Classification.Ignored($"{s.Name.LocalName} stanzas are not classified yet"),
        };
    }

    private Classification ClassifyMessage(TapEnvelope env, string from, string to)
    {
        var s = env.Stanza;
        var type = (string?)s.Attribute("type") ?? "normal";
        if (type == "error") return Classification.Ignored("error message");

        var xhtml = XhtmlText.FindBody(s);
        var body = BodyOf(s);
        var text = body ?? (xhtml == null ? null : XhtmlText.ToText(xhtml));
        if (text == null)
            return Classification.Ignored("message without a body (chat state, receipt or other payload)");
        var html = xhtml?.ToString(SaveOptions.DisableFormatting);

        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        if (type == "groupchat")
        {
            var outgoing = isLogged(fromBare);
            var room = outgoing ? toBare : fromBare;
            if (!outgoing && s.Element(Ns.Delay + "delay") != null)
                return Classification.Ignored($"history replayed by {room} on join (archived when it was said, if a logged user was present)");
            var receiver = outgoing ? null : toBare;
            if (!outgoing && !isLogged(toBare))
                return Classification.Ignored("group chat message between users who are not logged");
            var nick = outgoing ? _rooms.NickOf(room, fromBare) : JidText.Resource(from);
            return Classification.Of(new ConversationEvent
            {
                Id = NewId(),
                ReceivedUtc = env.ReceivedUtc,
                Kind = EventKind.Message,
                Direction = outgoing ? Direction.Outgoing : Direction.Incoming,
                ConversationType = ConversationType.GroupChat,
                ConversationKey = room,
                From = from,
                To = to,
                SenderBareJid = outgoing ? fromBare : (nick == null ? null : _rooms.RealJidOf(room, nick)),
                Nick = nick,
                Text = text,
                Html = html,
                StanzaId = (string?)s.Attribute("id"),
                StanzaType = type,
                LoggedUsers = outgoing ? [fromBare] : [receiver!],
                RawXml = s.ToString(SaveOptions.DisableFormatting),
            }, "group chat message");
        }

        // One-to-one (chat, normal, headline). A private message through a room (from or to
        // room@service/nick) is a conversation with that occupant, not with the room.
        var fromParty = _rooms.IsKnownRoom(fromBare) ? from : fromBare;
        var toParty = _rooms.IsKnownRoom(toBare) ? to : toBare;
        var logged = new[] { fromBare, toBare }.Where(isLogged).Distinct().ToList();
        if (logged.Count == 0) return Classification.Ignored("message between users who are not logged");
        return Classification.Of(new ConversationEvent
        {
            Id = NewId(),
            ReceivedUtc = env.ReceivedUtc,
            Kind = EventKind.Message,
            Direction = DirectionOf(fromBare, toBare),
            ConversationType = ConversationType.OneToOne,
            ConversationKey = string.CompareOrdinal(fromParty, toParty) <= 0 ? $"{fromParty} {toParty}" : $"{toParty} {fromParty}",
            From = from,
            To = to,
            SenderBareJid = fromBare,
            Text = text,
            Html = html,
            StanzaId = (string?)s.Attribute("id"),
            StanzaType = type,
            LoggedUsers = logged,
            RawXml = s.ToString(SaveOptions.DisableFormatting),
        }, $"{type} message");
    }

    private Direction DirectionOf(string fromBare, string toBare) => (isLogged(fromBare), isLogged(toBare)) switch
    {
        (true, true) => Direction.Both,
        (true, false) => Direction.Outgoing,
        _ => Direction.Incoming,
    };

    /// <summary>The body without xml:lang (the default language), else the first one.</summary>
    private static string? BodyOf(XElement message)
    {
        var bodies = message.Elements(Ns.Client + "body").ToList();
        var body = bodies.FirstOrDefault(b => b.Attribute(XNamespace.Xml + "lang") == null) ?? bodies.FirstOrDefault();
        return body?.Value;
    }

    private static string NewId() => Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
}
