using System.Globalization;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>
    /// Group chat joins and leaves, from the room's presence broadcasts (they carry
    /// <c>&lt;x xmlns="http://jabber.org/protocol/muc#user"/&gt;</c>), and a logged user's own leave.
    /// </summary>
    private Classification ClassifyPresence(TapEnvelope env, string from, string to)
    {
        var s = env.Stanza;
        var type = (string?)s.Attribute("type");
        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        var mucUser = s.Element(Ns.MucUser + "x");

        if (mucUser != null && isLogged(toBare) && !isLogged(fromBare))
            return RoomPresence(env, from, to, fromBare, toBare, type, mucUser);

        // A logged user leaving a room: the room's own broadcast of it may never reach a logged
        // user (it was the last one), so the leave is taken from the user's side too.
        if (isLogged(fromBare) && type == "unavailable" && _rooms.HasJoined(toBare, fromBare))
        {
            var nick = JidText.Resource(to) ?? _rooms.NickOf(toBare, fromBare) ?? fromBare;
            var departed = _rooms.Depart(toBare, nick);
            _rooms.SelfLeft(toBare, fromBare);
            return departed
                ? LeftRoomCalls(env, Classification.Of(RoomEvent(env, EventKind.Left, from, to, toBare, nick, fromBare, [], fromBare, Direction.Outgoing), "logged user left a group chat"),
                    toBare, fromBare, fromBare, toBare + "/" + nick, nick, Direction.Outgoing)
                : Classification.Repeat("leave already recorded from the room's broadcast");
        }

        if (s.Element(Ns.Muc + "x") != null)
            return Classification.Ignored("group chat join request (the room's answer is archived)");
        // Outside rooms, presence is availability and contact-list management, not conversation: a
        // conversation's boundaries are its first event and its idle time, and a call's are its Jingle signals.
        // A status text (or a nick in a subscription request) is words all the same: archived.
        if (type != "probe" && OneToOne(from, to) is { } scope)
            return Kept(env, scope, from, to, $"presence{(type == null ? "" : " " + type)}", IgnoredPresence(type));
        return Classification.Ignored(IgnoredPresence(type));
    }

    private static string IgnoredPresence(string? type) => type switch
        {
            "subscribe" or "subscribed" or "unsubscribe" or "unsubscribed" => $"contact list subscription ({type})",
            "error" => "presence error",
            "probe" => "presence probe (server housekeeping)",
            "unavailable" => "directed unavailable presence (availability)",
            _ => "directed presence (availability)",
        };

    private Classification RoomPresence(TapEnvelope env, string from, string to, string room, string receiver, string? type, XElement mucUser)
    {
        var nick = JidText.Resource(from);
        if (nick == null) return Classification.Ignored("room presence without an occupant nick");
        var item = mucUser.Element(Ns.MucUser + "item");
        var disclosed = (string?)item?.Attribute("jid") is { } j ? JidText.Bare(j) : null;
        // Where the room hides the real JID (semi-anonymous), the server's MUC module still names it (inline mode).
        var realJid = disclosed ?? env.OccupantJid;
        var hidden = disclosed == null && realJid != null;
        var codes = mucUser.Elements(Ns.MucUser + "status")
            .Select(c => int.TryParse((string?)c.Attribute("code"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1)
            .Where(n => n > 0).ToList();
        var self = codes.Contains(110);

        if (type == "unavailable")
        {
            var departed = _rooms.Depart(room, nick);
            if (self) _rooms.SelfLeft(room, receiver);
            return departed
                ? LeftRoomCalls(env, Classification.Of(RoomEvent(env, EventKind.Left, from, to, room, nick, realJid, codes, receiver, Direction.Incoming) with { RealJidHidden = hidden },
                    "occupant left a group chat"), room, receiver, realJid, from, nick, Direction.Incoming)
                : Classification.Repeat("leave of an occupant not known to be present (repeated copy)");
        }
        if (type != null) return Classification.Ignored($"room presence of type {type}");

        var wasJoined = _rooms.HasJoined(room, receiver);
        if (self && !wasJoined) JoinHistoryOpens(room, receiver); // a status change is not a new join: no history follows
        if (self) _rooms.SelfJoined(room, receiver, nick);
        var arrival = _rooms.Arrive(room, nick, realJid, hidden);
        if (arrival == RoomRoster.Arrival.Known)
            return Classification.Ignored("presence of an occupant already present (status change or repeated copy)");
        // Another logged occupant's copy named this occupant by nick only (the room hides real JIDs from them) and this one
        // names the real JID: recorded as "was in the room" with it, so that the transcript identifies them and the notifier
        // can tell them (otherwise the order of the copies decided whether they were ever told).
        if (arrival == RoomRoster.Arrival.Identified)
            return Classification.Of(RoomEvent(env, EventKind.Present, from, to, room, nick, realJid, codes, receiver, Direction.Incoming) with { RealJidHidden = hidden },
                "occupant identified by another logged occupant's copy of their presence");
        var kind = self || wasJoined ? EventKind.Joined : EventKind.Present;
        return Classification.Of(RoomEvent(env, kind, from, to, room, nick, realJid, codes, receiver, Direction.Incoming) with { RealJidHidden = hidden },
            kind == EventKind.Joined ? "occupant joined a group chat" : "occupant already in the room at join");
    }

    private static ConversationEvent RoomEvent(TapEnvelope env, EventKind kind, string from, string to, string room, string nick,
        string? realJid, IReadOnlyList<int> codes, string loggedUser, Direction direction) => new()
    {
        Id = NewId(),
        ReceivedUtc = env.ReceivedUtc,
        Kind = kind,
        Direction = direction,
        ConversationType = ConversationType.GroupChat,
        ConversationKey = room,
        From = from,
        To = to,
        SenderBareJid = realJid,
        Nick = nick,
        StanzaId = (string?)env.Stanza.Attribute("id"),
        StanzaType = (string?)env.Stanza.Attribute("type") ?? "available",
        StatusCodes = codes,
        LoggedUsers = [loggedUser],
        RawXml = StanzaXml.Compact(env.Stanza),
    };
}
