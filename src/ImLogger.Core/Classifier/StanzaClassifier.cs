using System.Globalization;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

/// <summary>
/// Turns one copied stanza of a logged user into conversation events: text (with the XHTML-IM alternative and its
/// emoticon text), corrections, retractions, subjects, invitations, group chat joins and leaves, file transfers,
/// calls, conferences, meetings, desktop shares, end-to-end encrypted payloads, and, for anything else a logged user
/// does that is not housekeeping, the raw stanza. Each decision comes with a reason, logged by the caller.
/// The rules are written down, as a table, in docs/events.md.
/// </summary>
/// <remarks>Not thread-safe: the pipeline classifies stanzas one at a time, in order of receipt.</remarks>
/// <param name="isLogged">Whether a bare JID belongs to a logged user.</param>
/// <param name="options">Telephony gateways and meeting services; <see cref="ClassifierOptions.Default"/> when null.</param>
public sealed partial class StanzaClassifier(Func<string, bool> isLogged, ClassifierOptions? options = null)
{
    private readonly RoomRoster _rooms = new();
    private readonly SessionLog _sessions = new();
    private readonly ClassifierOptions _options = options ?? ClassifierOptions.Default;

    /// <summary>Who a stanza's events belong to: the conversation, its logged users, the direction, the sender.</summary>
    private sealed record Scope(ConversationType Type, string Key, Direction Direction, IReadOnlyList<string> Logged, string? SenderBareJid, string? Nick,
        bool RealJidHidden = false);

    /// <summary>Classifies one stanza.</summary>
    public Classification Classify(TapEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var s = envelope.Stanza;
        var from = JidText.Normalize((string?)s.Attribute("from") ?? "");
        // Without `to` a stanza is for the sender's own account (Prosody clears it for the user's own bare JID): a
        // presence broadcast, a PEP publish, a vCard set, private storage. Its conversation is the user's own.
        var to = JidText.Normalize((string?)s.Attribute("to") ?? "") is { Length: > 0 } t ? t : JidText.Bare(from);
        if (from.Length == 0 || to.Length == 0)
            return Classification.Ignored($"{s.Name.LocalName} without from");
        _historySaid = null;
        ObserveUpload(envelope, from, to);
        var result = s.Name.LocalName switch
        {
            "message" => ClassifyMessage(envelope, from, to),
            "presence" => ClassifyPresence(envelope, from, to),
            "iq" => ClassifyIq(envelope, from, to),
            _ => Classification.Ignored($"{s.Name.LocalName} is not a stanza"),
        };
        return AsHistory(WithUserNick(envelope, from, WithEncryption(envelope, from, to, result)));
    }

    private Classification ClassifyMessage(TapEnvelope env, string from, string to)
    {
        var s = env.Stanza;
        var type = (string?)s.Attribute("type") ?? "normal";
        var fromBare = JidText.Bare(from);
        if (type == "error")
        {
            // An error can echo the refused message and carry text of its own: both are what the user received.
            if (BounceScope(from, to, (string?)s.Attribute("id")) is not { } errorScope) return Classification.Ignored("error message between users who are not logged");
            return Encrypted(env, errorScope, from, to)
                ?? Bounce(env, errorScope, from, to) // StanzaClassifier.Bounces.cs: the server's answer to a stanza that had an id
                ?? Kept(env, errorScope, from, to, "error message", "error message without text (a bare condition)");
        }
        var toBare = JidText.Bare(to);
        if (EncryptedCarbon(env, fromBare, toBare) is { } carbon) return carbon;

        // Mediated invitations travel through the room (user -> room -> invitee): they belong to the room's transcript.
        if (s.Element(Ns.MucUser + "x") is { } mucUser && (mucUser.Element(Ns.MucUser + "invite") ?? mucUser.Element(Ns.MucUser + "decline")) is { } invite)
            return MediatedInvitation(env, from, to, fromBare, toBare, invite);

        Scope scope;
        string? reflectingRoom = null; // a room reflecting an occupant's message to a logged user who joined it
        if (type == "groupchat")
        {
            var outgoing = isLogged(fromBare);
            var room = outgoing ? toBare : fromBare;
            if (outgoing) SentToRoom(fromBare, room, (string?)s.Attribute("id")); // StanzaClassifier.Bounces.cs: its bounce is the room's
            if (!outgoing) _historySaid = ReplayedHistory(env, room, toBare);
            if (!outgoing && !isLogged(toBare))
                return Classification.Ignored("group chat message between users who are not logged");
            var nick = outgoing ? _rooms.NickOf(room, fromBare) : JidText.Resource(from);
            if (!outgoing && nick != null && _rooms.HasJoined(room, toBare)) reflectingRoom = room;
            var (realJid, hidden) = outgoing || nick == null ? (null, false) : _rooms.Identify(room, nick, env.OccupantJid);
            scope = new Scope(ConversationType.GroupChat, room, outgoing ? Direction.Outgoing : Direction.Incoming,
                outgoing ? [fromBare] : [toBare],
                outgoing ? fromBare : realJid, nick, hidden);
        }
        else
        {
            if (OneToOne(from, to) is not { } pair) return Classification.Ignored("message between users who are not logged");
            scope = pair;
        }

        // Only what the room itself reflected to a logged occupant teaches that the room is encrypted: a logged user's own
        // attempt (refused anyway) or a marker alone must not close a room to everyone.
        if (Encrypted(env, scope, from, to) is { } encrypted)
        {
            // A direct invitation beside the ciphertext is an event of its own, as a mediated one is: keep it, and the
            // encryption pass (WithEncryption) adds the attempt beside it.
            var kept = DirectInvitation(env, scope, from, to, fromBare, toBare) ?? encrypted;
            return reflectingRoom != null && CarriesCiphertext(s) ? kept with { EncryptedRoom = reflectingRoom } : kept;
        }
        return JingleMessage(env, scope, from, to, fromBare, toBare)
            ?? CallInvite(env, scope, from, to)
            ?? DirectInvitation(env, scope, from, to, fromBare, toBare)
            ?? Retraction(env, scope, from, to)
            ?? Correction(env, scope, from, to)
            ?? Reactions(env, scope, from, to)
            ?? Subject(env, scope, from, to, type)
            ?? SharedFile(env, scope, from, to)
            ?? TextMessage(env, scope, from, to, type)
            ?? PubsubNotification(env, scope, from, to)
            ?? Housekeeping(s, from, to, "message without a body (chat state, receipt, marker or other housekeeping)")
            ?? Unclassified(env, scope, from, to, "message with a payload the classifier has no rule for");
    }

    private Classification? TextMessage(TapEnvelope env, Scope scope, string from, string to, string type)
    {
        var s = env.Stanza;
        var xhtml = XhtmlText.FindBody(s);
        var body = BodyOf(s);
        var text = body ?? (xhtml == null ? null : XhtmlText.ToText(xhtml));
        if (text == null) return null;
        return Classification.Of(Event(env, EventKind.Message, scope, from, to) with
        {
            Text = text,
            Html = xhtml == null ? null : StanzaXml.Compact(xhtml),
        }, scope.Type == ConversationType.GroupChat ? "group chat message" : $"{type} message");
    }

    /// <summary>The one-to-one conversation of two JIDs, or null if neither is logged. A private message through a
    /// room (room@service/nick) is a conversation with that occupant, not with the room.</summary>
    private Scope? OneToOne(string from, string to)
    {
        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        var fromParty = _rooms.IsKnownRoom(fromBare) ? from : fromBare;
        var toParty = _rooms.IsKnownRoom(toBare) ? to : toBare;
        var logged = new[] { fromBare, toBare }.Where(isLogged).Distinct().ToList();
        if (logged.Count == 0) return null;
        var key = JidText.PairKey(fromParty, toParty);
        return new Scope(ConversationType.OneToOne, key, DirectionOf(fromBare, toBare), logged, fromBare, null);
    }

    /// <summary>The fields every event of a stanza shares.</summary>
    private static ConversationEvent Event(TapEnvelope env, EventKind kind, Scope scope, string from, string to)
    {
        var s = env.Stanza;
        return new ConversationEvent
        {
            Id = NewId(),
            ReceivedUtc = env.ReceivedUtc,
            Kind = kind,
            Direction = scope.Direction,
            ConversationType = scope.Type,
            ConversationKey = scope.Key,
            From = from,
            To = to,
            SenderBareJid = scope.SenderBareJid,
            RealJidHidden = scope.RealJidHidden,
            Nick = scope.Nick,
            StanzaId = (string?)s.Attribute("id"),
            StanzaType = (string?)s.Attribute("type") ?? (s.Name.LocalName == "message" ? "normal" : null),
            LoggedUsers = scope.Logged,
            RawXml = StanzaXml.Compact(s),
            OriginId = (string?)s.Element(EventNs.Sid + "origin-id")?.Attribute("id"),
            ServerStanzaId = (string?)s.Element(EventNs.Sid + "stanza-id")?.Attribute("id"),
        };
    }

    /// <summary>A stanza of a logged user that no rule covers: kept whole, so nothing a logged user does is dropped silently.</summary>
    private static Classification Unclassified(TapEnvelope env, Scope scope, string from, string to, string reason)
    {
        var payload = env.Stanza.Elements().FirstOrDefault(e => !EventNs.MessageHousekeeping.Contains(e.Name.NamespaceName));
        return Classification.Of(Event(env, EventKind.Unclassified, scope, from, to) with
        {
            // Without a payload of its own it is words smuggled into housekeeping: show them.
            Text = payload == null ? ReadableText(env.Stanza) : $"{{{payload.Name.NamespaceName}}}{payload.Name.LocalName}",
        }, reason + ", kept as raw XML");
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

    private static long? ParseSize(string? value) =>
        long.TryParse(value?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static string NewId() => Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
}
