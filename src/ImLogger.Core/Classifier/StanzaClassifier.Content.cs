using System.Text;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Free-text attributes: names and descriptions people type (a disco identity's or roster item's name,
    /// a data form field's label, a pubsub item's title). Ids, hashes, JIDs and namespaces are not.</summary>
    private static readonly HashSet<string> TextAttributes = new(StringComparer.Ordinal) { "name", "label", "desc", "reason", "title", "text" };

    /// <summary>Subtrees whose text is machine state every client sends, not words: availability show and priority,
    /// the avatar hash in presence, a room password in a join (a secret, never archived), delivery stamps, caps.</summary>
    private static readonly HashSet<XName> NotText =
    [
        Ns.Client + "show", Ns.Client + "priority", Ns.Client + "thread",
        XNamespace.Get("vcard-temp:x:update") + "x", Ns.Muc + "password", Ns.MucUser + "password",
        Ns.Delay + "delay", XNamespace.Get("http://jabber.org/protocol/caps") + "c", XNamespace.Get("urn:xmpp:idle:1") + "idle",
    ];

    /// <summary>Iq payloads that are questions to the server or session plumbing: whatever text they hold (an archive
    /// query's dates, an upload slot's file name, whose link is archived when shared) is a search or a request,
    /// not something a user says to anyone. Every other iq payload with text is archived.</summary>
    private static readonly HashSet<string> IqQueries = new(StringComparer.Ordinal)
    {
        "urn:xmpp:ping", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "urn:xmpp:carbons:2",
        "urn:xmpp:mam:2", "urn:xmpp:time", "jabber:iq:last", "urn:xmpp:http:upload:0", "urn:ietf:params:xml:ns:xmpp-bind",
        "urn:ietf:params:xml:ns:xmpp-session", "http://jabber.org/protocol/bytestreams", "urn:xmpp:push:0", "urn:xmpp:extdisco:2",
    };

    /// <summary>At most this much readable text is put in an event's <see cref="ConversationEvent.Text"/>; the raw
    /// stanza, kept whole in <see cref="ConversationEvent.RawXml"/>, has the rest.</summary>
    private const int MaxReadableText = 8000;

    /// <summary>
    /// Archive by default: a stanza no rule names that still carries words (an error's text, an iq answer's payload,
    /// a vCard, a PEP or pubsub item, private storage, a presence status) is kept as an
    /// <see cref="EventKind.Unclassified"/> event with its readable text and the raw XML; without words it is
    /// ignored for <paramref name="ignoredReason"/>.
    /// </summary>
    private static Classification Kept(TapEnvelope env, Scope scope, string from, string to, string what, string ignoredReason)
    {
        // Refuse by default: encryption anywhere in the tree (a pubsub item, an error's echo) is the encryption pass's
        // (EncryptionScan), the one place that knows the schemes.
        if (Encrypted(env, scope, from, to) is { } encrypted)
            return encrypted;
        if (ReadableText(env.Stanza) is not { } text) return Classification.Ignored(ignoredReason);
        return Classification.Of(Event(env, EventKind.Unclassified, scope, from, to) with { Text = $"{what}: {text}" },
            $"{what} with text, archived with its raw XML");
    }

    /// <summary>A PEP or pubsub event notification (XEP-0060 §7.1.2): its items are what the publisher said to its
    /// subscribers (a mood's text, a tune, a nickname, an article); a notification of ids only (a device list, a
    /// retraction) is housekeeping.</summary>
    private static Classification? PubsubNotification(TapEnvelope env, Scope scope, string from, string to) =>
        env.Stanza.Element(PubsubEvent + "event") is not { } ev ? null
        : Kept(env, scope, from, to, $"pubsub notification ({(string?)ev.Elements().FirstOrDefault()?.Attribute("node") ?? "no node"})",
            "pubsub notification without text (ids, a device list, a retraction)");

    private static readonly XNamespace PubsubEvent = "http://jabber.org/protocol/pubsub#event";

    /// <summary>Every text node and free-text attribute of <paramref name="stanza"/>, in document order, separated by
    /// " | "; null when there is none. Machine state (<see cref="NotText"/>) is left out.</summary>
    internal static string? ReadableText(XElement stanza)
    {
        var sb = new StringBuilder();
        Collect(stanza, sb);
        if (sb.Length == 0) return null;
        return sb.Length <= MaxReadableText ? sb.ToString() : sb.ToString(0, MaxReadableText) + " … (cut; the raw XML has all of it)";
    }

    private static void Collect(XElement element, StringBuilder sb)
    {
        if (NotText.Contains(element.Name)) return;
        foreach (var a in element.Attributes())
            if (!a.IsNamespaceDeclaration && a.Name.Namespace == XNamespace.None && TextAttributes.Contains(a.Name.LocalName))
                Append(sb, a.Value);
        foreach (var node in element.Nodes())
        {
            if (node is XText t) Append(sb, t.Value);
            else if (node is XElement child) Collect(child, sb);
        }
    }

    private static void Append(StringBuilder sb, string value)
    {
        var v = value.Trim();
        if (v.Length == 0) return;
        if (sb.Length > 0) sb.Append(" | ");
        sb.Append(v);
    }
}
