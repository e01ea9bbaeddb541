using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Iq payload namespaces that are questions to the server or session plumbing (see <see cref="Kept"/>); the
    /// coverage pass leaves them out the same way.</summary>
    internal static IReadOnlySet<string> IqQueryNamespaces => IqQueries;

    /// <summary>
    /// The coverage pass's way in (see <see cref="CoverageCheck"/>): an <see cref="EventKind.Unclassified"/> event for
    /// <paramref name="env"/> carrying <paramref name="text"/>, in the conversation the classifier would have put the
    /// stanza in; null when no logged user is a party to it (then nothing of it belongs to anyone's archive).
    /// </summary>
    internal ConversationEvent? MoreContentEvent(TapEnvelope env, string text)
    {
        var s = env.Stanza;
        var from = JidText.Normalize((string?)s.Attribute("from") ?? "");
        var to = JidText.Normalize((string?)s.Attribute("to") ?? "") is { Length: > 0 } t ? t : JidText.Bare(from);
        if (from.Length == 0 || to.Length == 0) return null;
        var scope = s.Name.LocalName == "message" && (string?)s.Attribute("type") == "groupchat" ? GroupScope(from, to)
            : s.Name.LocalName == "presence" && (_rooms.IsKnownRoom(JidText.Bare(to)) || _rooms.IsKnownRoom(JidText.Bare(from))) ? GroupScope(from, to)
            : OneToOne(from, to);
        return scope == null ? null : Event(env, EventKind.Unclassified, scope, from, to) with { Text = text };
    }

    /// <summary>The room conversation of a stanza to or from a room, seen from its logged party; null when neither is logged.</summary>
    private Scope? GroupScope(string from, string to)
    {
        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        var outgoing = isLogged(fromBare);
        if (!outgoing && !isLogged(toBare)) return null;
        var room = outgoing ? toBare : fromBare;
        var nick = outgoing ? _rooms.NickOf(room, fromBare) : JidText.Resource(from);
        return new Scope(ConversationType.GroupChat, room, outgoing ? Direction.Outgoing : Direction.Incoming,
            outgoing ? [fromBare] : [toBare], outgoing ? fromBare : (nick == null ? null : _rooms.RealJidOf(room, nick)), nick);
    }
}
