using System.Text;
using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Ids, language tags and the like are opaque tokens at most this long (the inline adapter's limit).</summary>
    private const int MaxToken = 128;

    /// <summary>A housekeeping message is small: the inline adapter passes nothing larger unheld either.</summary>
    private const int MaxHousekeepingBytes = 1024;

    private static readonly HashSet<string> DefinedMessageTypes = new(StringComparer.Ordinal) { "chat", "normal", "headline", "groupchat" };

    private static readonly HashSet<XName> FreeStanzaAttributes = ["id", "type", "to", "from", XNamespace.Xml + "lang"];

    /// <summary>Children that may appear more than once in a real message: one stanza id per archive, one delay per hop.</summary>
    private static readonly HashSet<XName> Repeatable = [EventNs.Sid + "stanza-id", Ns.Delay + "delay"];

    /// <summary>Children whose text is a token, not words: a thread id (one word, no longer than an id). Any other text,
    /// a delay's reason included (copies ImLogger sees are taken before the server stamps one), is words.</summary>
    private static readonly HashSet<XName> TokenText = [Ns.Client + "thread"];

    private static readonly XNamespace Carbons = "urn:xmpp:carbons:2";
    private static readonly XNamespace Mam = "urn:xmpp:mam:2";

    /// <summary>
    /// Ignored with <paramref name="reason"/> if the message is housekeeping: every child in a housekeeping namespace
    /// and, the same rule inline fail-closed passes unheld by (docs/inline-protocol.md, "Which stanzas are held"),
    /// content-free: no words in text or free-text attributes, a defined type, short tokens, each child once, small.
    /// Words smuggled into such a shape (a chat state's text, a long thread, forty receipts, an xml:lang sentence) are
    /// held by the adapter and so must be archived here, not passed as housekeeping. Null otherwise.
    /// </summary>
    private Classification? Housekeeping(XElement stanza, string from, string to, string reason)
    {
        if (!stanza.Elements().All(e => EventNs.MessageHousekeeping.Contains(e.Name.NamespaceName))) return null;
        // Carbon copies and archive results are the server's copies to the user's own devices (or a room's archive),
        // archived from the original; the same wrapper from anyone else is a forgery around words.
        var wrappers = stanza.Elements().Where(e => e.Name == Carbons + "sent" || e.Name == Carbons + "received" || e.Name == Mam + "result").ToList();
        if (wrappers.Count > 0)
        {
            var fromBare = JidText.Bare(from);
            var own = fromBare == JidText.Bare(to) || (wrappers.All(w => w.Name.Namespace == Mam) && _rooms.IsKnownRoom(fromBare));
            return own ? Classification.Ignored(reason) : null;
        }
        return ContentFree(stanza) ? Classification.Ignored(reason) : null;
    }

    private static bool ContentFree(XElement stanza)
    {
        foreach (var a in stanza.Attributes())
        {
            if (a.IsNamespaceDeclaration) continue;
            if (!FreeStanzaAttributes.Contains(a.Name)) return false;
            if (a.Name != "to" && a.Name != "from" && a.Value.Length > MaxToken) return false;
        }
        if ((string?)stanza.Attribute("type") is { } type && !DefinedMessageTypes.Contains(type)) return false;
        if (stanza.Nodes().OfType<XText>().Any(t => !string.IsNullOrWhiteSpace(t.Value))) return false;
        var seen = new HashSet<XName>();
        foreach (var child in stanza.Elements())
        {
            if (!seen.Add(child.Name) && !Repeatable.Contains(child.Name)) return false;
            if (!TokensOnly(child)) return false;
        }
        return Encoding.UTF8.GetByteCount(StanzaXml.Compact(stanza)) <= MaxHousekeepingBytes;
    }

    /// <summary>No free-text attribute, no attribute value or text longer than a token, text only where it is a token.</summary>
    private static bool TokensOnly(XElement element)
    {
        foreach (var a in element.Attributes())
            if (!a.IsNamespaceDeclaration && (TextAttributes.Contains(a.Name.LocalName) || a.Value.Length > MaxToken)) return false;
        foreach (var node in element.Nodes())
        {
            if (node is XText t && !string.IsNullOrWhiteSpace(t.Value) && !IsToken(element, t.Value.Trim())) return false;
            if (node is XElement child && !TokensOnly(child)) return false;
        }
        return true;
    }

    private static bool IsToken(XElement element, string text) =>
        TokenText.Contains(element.Name) && text.Length <= MaxToken && !text.Any(char.IsWhiteSpace);
}
