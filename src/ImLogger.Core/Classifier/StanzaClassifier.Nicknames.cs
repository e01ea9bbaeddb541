using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    private static readonly XName UserNick = XNamespace.Get("http://jabber.org/protocol/nick") + "nick";

    /// <summary>Longest XEP-0172 nickname kept on an event; a longer one is cut (the whole stanza stays in RawXml).</summary>
    public const int MaxDisplayName = 256;

    /// <summary>
    /// XEP-0172 user nicknames: what the sender calls themselves, for transcripts to show beside the JID. A nickname is the
    /// sender's own claim, so it names only the sender of the stanza it travels in: an event whose sender is not the
    /// stanza's (an error a server or peer sends back echoing someone else's stanza, a room's private message relayed as
    /// from the room) gets none. Only a direct child counts: one inside a forwarded or echoed stanza is someone else's.
    /// </summary>
    private Classification WithUserNick(TapEnvelope env, string from, Classification result)
    {
        if (result.Events.Count == 0 || (string?)env.Stanza.Attribute("type") == "error") return result;
        if (UserNickOf(env.Stanza) is not { } nick) return result;
        var fromBare = JidText.Bare(from);
        var named = result.Events.Select(e => ClaimedBySender(e, from, fromBare) ? e with { DisplayName = nick } : e).ToList();
        return result with { Events = named };
    }

    /// <summary>Whether the stanza's sender is the event's sender: their own stanza (one-to-one, or a logged user's in a
    /// room), or a room reflecting the occupant's own stanza under their nickname (room@service/nick).</summary>
    private bool ClaimedBySender(ConversationEvent e, string from, string fromBare)
    {
        if (e.SenderBareJid == null) return false;
        if (e.ConversationType == ConversationType.GroupChat && e.Nick != null && from == $"{e.ConversationKey}/{e.Nick}") return true;
        return e.SenderBareJid == fromBare && !_rooms.IsKnownRoom(fromBare);
    }

    /// <summary>The stanza's own nickname, trimmed and cut to <see cref="MaxDisplayName"/>; null when absent or blank.</summary>
    private static string? UserNickOf(XElement stanza)
    {
        var nick = stanza.Element(UserNick)?.Value.Trim();
        if (string.IsNullOrEmpty(nick)) return null;
        if (nick.Length <= MaxDisplayName) return nick;
        var cut = char.IsHighSurrogate(nick[MaxDisplayName - 1]) ? MaxDisplayName - 1 : MaxDisplayName;
        return nick[..cut];
    }
}
