using System.Globalization;
using System.Text;
using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

/// <summary>
/// The coverage pass, run after classification (DESIGN.md, "Archive by default"): every text node and free-text attribute
/// of a stanza (bodies and XHTML bodies in every language, subjects, threads, statuses, error texts, descriptions, file
/// names, reasons, pubsub items, vCard fields, in-band bytestream data that decodes to text) is either carried by the
/// classified events, or the stanza gets an <see cref="EventKind.Unclassified"/> event whose text starts with
/// <see cref="Label"/> and lists what was missing, each piece named by where it was (<c>body [de]: …</c>), with the raw
/// stanza kept beside it. Signalling that carries a body is so both an event and the text.
/// </summary>
/// <remarks>What is content-free, and so never listed, is written down in <see cref="Pieces"/> and docs/events.md
/// ("Coverage pass"). The pass never removes or changes what the classifier decided; it only adds.</remarks>
public static partial class CoverageCheck
{
    /// <summary>How the text of a coverage event begins, in every transcript format.</summary>
    public const string Label = "more content";

    /// <summary>At most this much listed text goes in one coverage event; the raw stanza in the spool has the rest.</summary>
    public const int MaxListedText = 32_000;

    /// <summary>Free-text attributes (no namespace): what people type. Ids, JIDs, hashes, stamps, URLs and namespaces are not.</summary>
    private static readonly HashSet<string> TextAttributes = new(StringComparer.Ordinal) { "name", "label", "desc", "reason", "title", "text", "alt", "subject" };

    /// <summary>A piece of text of a stanza: where it was and what it said. An extra-language body is listed by language
    /// even when an event happens to contain the same letters (<paramref name="ByLanguage"/>).</summary>
    /// <param name="Where">The element (and attribute) it was in, with its language.</param>
    /// <param name="Text">Its text, trimmed.</param>
    /// <param name="ByLanguage">An extra-language body, listed by language.</param>
    /// <param name="Emoticon">An emoticon's alt text in the first XHTML body: carried by an event with that XHTML.</param>
    public sealed record Piece(string Where, string Text, bool ByLanguage = false, bool Emoticon = false);

    /// <summary>Returns <paramref name="classified"/>, completed with the text of <paramref name="envelope"/> that none
    /// of its events carries.</summary>
    /// <param name="classifier">The classifier that classified it.</param>
    /// <param name="envelope">The stanza, as received.</param>
    /// <param name="classified">Its events so far.</param>
    /// <param name="shownAs">The line an event shows in the transcript's text part (the transcript renderer's, passed in
    /// so that the classifier does not depend on the sinks).</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static Classification Complete(StanzaClassifier classifier, TapEnvelope envelope, Classification classified, Func<ConversationEvent, string> shownAs)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(shownAs);
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(classified);
        // An encrypted stanza is the encryption pass's: refused inline, archived as an attempt in tap. Its fallback body
        // ("I sent you an OMEMO message") is never shown as if it were what was said.
        if (classified.Events.Any(e => e.Kind == EventKind.Encrypted) || classified.AlreadyArchived) return classified;
        var missing = Missing(Pieces(envelope.Stanza), classified.Events, shownAs);
        if (missing.Count == 0) return classified;
        var text = Listed(missing);
        // One stanza, one unclassified event: the deduplicator would fold a second one of the same stanza into the first.
        var index = classified.Events.ToList().FindIndex(e => e.Kind == EventKind.Unclassified);
        if (index >= 0)
        {
            var events = classified.Events.ToList();
            var e = events[index];
            events[index] = e with { Text = string.IsNullOrEmpty(e.Text) ? text : e.Text + "; " + text };
            return classified with { Events = events, Reason = classified.Reason + "; " + Summary(missing) };
        }
        if (classifier.MoreContentEvent(envelope, text) is not { } more) return classified; // no logged party: nobody's archive
        return classified with { Events = [.. classified.Events, more], Reason = classified.Reason + "; " + Summary(missing) };
    }

    private static string Summary(IReadOnlyList<Piece> missing) =>
        $"coverage: {missing.Count} piece(s) of text no event carried ({string.Join(", ", missing.Select(p => p.Where).Distinct())}), kept as {Label}";

    /// <summary>"more content: body [de]: Hallo | thread: t-1".</summary>
    internal static string Listed(IReadOnlyList<Piece> missing)
    {
        var sb = new StringBuilder(Label).Append(": ");
        for (var i = 0; i < missing.Count; i++)
        {
            if (i > 0) sb.Append(" | ");
            sb.Append(missing[i].Where).Append(": ").Append(missing[i].Text);
            if (sb.Length > MaxListedText) return sb.ToString(0, MaxListedText) + " … (cut; the raw XML has all of it)";
        }
        return sb.ToString();
    }

    /// <summary>The pieces no event carries: a piece is carried when its text is in the line the event shows in the
    /// transcript's text part (where the archive is searched; whitespace compared loosely); an extra-language body only
    /// by an event that lists every text of the stanza (an unclassified one).</summary>
    internal static List<Piece> Missing(IReadOnlyList<Piece> pieces, IReadOnlyList<ConversationEvent> events, Func<ConversationEvent, string> shownAs)
    {
        if (pieces.Count == 0) return [];
        // Not the raw XML an unclassified event shows beside its text: escaped and cut, it is kept, not searched.
        var shown = events.Select(e => (e.Kind, Line: Loose(shownAs(e with { RawXml = "" })))).ToList();
        var carried = shown.Select(s => s.Line).ToList();
        var listing = shown.Where(s => s.Kind == EventKind.Unclassified).Select(s => s.Line).ToList();
        // Read back from the events' XHTML only when an emoticon is in question (parsing it per stanza cost more than the
        // rest of the pass).
        HashSet<string>? emoticons = null;
        var missing = new List<Piece>();
        foreach (var p in pieces)
        {
            var text = Loose(p.Text);
            if ((p.ByLanguage ? listing : carried).Any(c => c.Contains(text, StringComparison.Ordinal))) continue;
            if (p.Emoticon && (emoticons ??= events.SelectMany(e => ImageAlts(e.Html)).ToHashSet(StringComparer.Ordinal)).Contains(p.Text)) continue;
            missing.Add(p);
        }
        return missing;
    }

    /// <summary>The alt texts of the images of an event's XHTML, as the HTML part shows them.</summary>
    internal static IEnumerable<string> ImageAlts(string? html)
    {
        if (string.IsNullOrEmpty(html)) return [];
        // The events' XHTML is written by StanzaXml.Compact: read in place when it is in that writer's plain form
        // (CoverageCheck.Alts.cs); parsing a tree per stanza was the coverage pass's largest cost.
        if (ScannedImageAlts(html) is { } scanned) return scanned;
        try
        {
            return XElement.Parse(html).DescendantsAndSelf().Where(e => e.Name.LocalName == "img")
                .Select(e => ((string?)e.Attribute("alt") ?? "").Trim()).ToList();
        }
        catch (System.Xml.XmlException) { return []; }
    }

    /// <summary>Whitespace, line ends and control characters as single spaces: the transcript folds them.</summary>
    private static string Loose(string text)
    {
        if (IsLoose(text)) return text; // most lines and pieces: no copy
        var sb = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c == '\uFFFD') { space = sb.Length > 0; continue; }
            if (space) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>True when <see cref="Loose"/> would return the same characters: no control character, no whitespace but
    /// single spaces between other characters.</summary>
    private static bool IsLoose(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == ' ')
            {
                if (i == 0 || i == text.Length - 1 || text[i + 1] == ' ') return false;
            }
            else if (char.IsWhiteSpace(c) || char.IsControl(c) || c == '\uFFFD')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Every piece of text of <paramref name="stanza"/>, in document order. Content-free, and so left out:
    /// attributes other than the free-text ones (ids, JIDs, namespaces, types, stamps, hashes, URLs); elements without
    /// text (receipts, markers, hints, chat states, caps, stanza ids, Jingle transports, empty conditions);
    /// <c>show</c> with one of its four values and <c>priority</c> with a number; the avatar hash of a presence;
    /// a file's hash, size and date in a file offer; in-band and avatar data that decodes to bytes rather than text (the
    /// file's offer is archived); room and registration passwords and a remote desktop's auth token (secrets, never archived); media negotiation
    /// (Jingle transports, codecs, DTLS fingerprints, content names, stream-method choices); carbons copies and archive
    /// (MAM) results, whose content was archived when it was said (encryption inside them is still refused); iq
    /// questions to the server (<see cref="StanzaClassifier.IqQueryNamespaces"/>).
    /// </summary>
    public static IReadOnlyList<Piece> Pieces(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        var pieces = new List<Piece>();
        if (stanza.Name.LocalName == "iq" && stanza.Elements().FirstOrDefault(e => e.Name.LocalName != "error") is { } payload
            && StanzaClassifier.IqQueryNamespaces.Contains(payload.Name.NamespaceName))
        {
            foreach (var error in stanza.Elements().Where(e => e.Name.LocalName == "error")) Walk(error, pieces);
            return pieces;
        }
        var defaultBody = stanza.Elements(Ns.Client + "body").FirstOrDefault(b => b.Attribute(XNamespace.Xml + "lang") == null)
                          ?? stanza.Elements(Ns.Client + "body").FirstOrDefault();
        foreach (var node in stanza.Nodes())
        {
            if (node is XText t) Add(pieces, stanza.Name.LocalName, t.Value);
            else if (node is XElement body && body.Name == Ns.Client + "body")
                Add(pieces, "body" + Lang(body), body.Value, byLanguage: body != defaultBody);
            else if (node is XElement child) Walk(child, pieces);
        }
        return pieces;
    }

    private static void Walk(XElement e, List<Piece> pieces)
    {
        if (ArchivedElsewhere(e) || Secret(e) || MachineState(e) || Negotiation(e)) return;
        if (e.Name == Ns.XhtmlIm + "html")
        {
            // The first XHTML body goes with the message's text: each of its words must be in it (the text part is where the
            // archive is searched). Other languages are listed whole, by language.
            var first = true;
            foreach (var body in e.Elements(Ns.Xhtml + "body"))
            {
                if (!first) Add(pieces, "XHTML body" + Lang(body), XhtmlText.ToText(body), byLanguage: true);
                else
                    foreach (var node in body.DescendantNodes())
                    {
                        if (node is XText t) Add(pieces, "XHTML body" + Lang(body), t.Value);
                        else if (node is XElement { Name.LocalName: "img" } img && (string?)img.Attribute("alt") is { } alt)
                            Add(pieces, "XHTML image", alt, emoticon: IsEmoticon(alt));
                    }
                foreach (var a in body.DescendantsAndSelf().Attributes().Where(IsTextAttribute).Where(a => a.Parent?.Name.LocalName != "img"))
                    Add(pieces, $"XHTML {a.Parent!.Name.LocalName} {a.Name.LocalName}", a.Value, byLanguage: !first);
                first = false;
            }
            foreach (var other in e.Elements().Where(x => x.Name != Ns.Xhtml + "body")) Walk(other, pieces);
            return;
        }
        foreach (var a in e.Attributes().Where(IsTextAttribute).Where(a => !(e.Name == EventNs.Jingle + "content" && a.Name.LocalName == "name")))
            Add(pieces, $"{e.Name.LocalName} {a.Name.LocalName}", a.Value);
        if (BinaryData(e))
        {
            if (DecodedText(e.Value) is { } decoded) Add(pieces, e.Name.LocalName + " (decoded from base64)", decoded);
            return;
        }
        foreach (var node in e.Nodes())
        {
            if (node is XText t) Add(pieces, e.Name.LocalName + Lang(e), t.Value);
            else if (node is XElement child) Walk(child, pieces);
        }
    }

    private static bool IsTextAttribute(XAttribute a) =>
        !a.IsNamespaceDeclaration && a.Name.Namespace == XNamespace.None && TextAttributes.Contains(a.Name.LocalName);

    private static void Add(List<Piece> pieces, string where, string text, bool byLanguage = false, bool emoticon = false)
    {
        var v = text.Trim();
        if (v.Length > 0) pieces.Add(new Piece(where, v, byLanguage, emoticon));
    }

    /// <summary>An image's alt text that is an emoticon (":-)", ":thumbsup:"): short, one token. The HTML part shows it
    /// in place (DESIGN.md: HTML with the text equivalent of emoticons); longer alt text is words, listed.</summary>
    private static bool IsEmoticon(string alt) => alt.Trim() is { Length: > 0 and <= 12 } a && !a.Any(char.IsWhiteSpace);

    private static string Lang(XElement e) => (string?)e.Attribute(XNamespace.Xml + "lang") is { Length: > 0 } lang ? $" [{lang}]" : "";

    private static readonly XNamespace Carbons = "urn:xmpp:carbons:2";
    private static readonly XNamespace Mam = "urn:xmpp:mam:2";
    private static readonly XNamespace AvatarData = "urn:xmpp:avatar:data";
    private static readonly XNamespace Bob = "urn:xmpp:bob";
    private static readonly XNamespace VcardUpdate = "vcard-temp:x:update";

    /// <summary>Namespaces of media negotiation: codecs and their parameters, transports and candidates, DTLS
    /// fingerprints, stream-method choices. What the session was is the call or file event; these say how it is carried.</summary>
    private static readonly string[] NegotiationNamespaces =
    [
        "urn:xmpp:jingle:transports:", "urn:xmpp:jingle:apps:dtls:", "urn:xmpp:jingle:apps:rtp:rtp-hdrext:", "urn:xmpp:jingle:apps:rtp:rtcp-fb:",
        "urn:xmpp:jingle:apps:rtp:ssma:", "urn:xmpp:jingle:apps:grouping:", "http://jabber.org/protocol/feature-neg",
    ];

    private static bool Negotiation(XElement e) =>
        NegotiationNamespaces.Any(n => e.Name.NamespaceName.StartsWith(n, StringComparison.Ordinal))
        || (e.Name.Namespace == EventNs.Rtp && e.Name.LocalName is "payload-type" or "encryption" or "bandwidth");

    private static bool ArchivedElsewhere(XElement e) =>
        e.Name == Carbons + "received" || e.Name == Carbons + "sent" || e.Name == Mam + "result";

    private static bool Secret(XElement e) =>
        (e.Name.LocalName == "auth-token" && e.Name.NamespaceName == "google:remoting") ||
        e.Name.LocalName == "password" && e.Name.Namespace.NamespaceName is "http://jabber.org/protocol/muc" or "http://jabber.org/protocol/muc#user"
            or "jabber:iq:register" or "jabber:iq:auth";

    /// <summary>Elements whose text is a value from a closed set, not words: checked, so that words put there are content.</summary>
    private static bool MachineState(XElement e)
    {
        var v = e.Value.Trim();
        if (e.Name == Ns.Client + "show") return v is "away" or "chat" or "dnd" or "xa" or "";
        if (e.Name == Ns.Client + "priority") return sbyte.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
        if (e.Name == VcardUpdate + "photo") return v.All(Uri.IsHexDigit);
        if ((e.Name.LocalName is "hash" or "hash-used" && e.Name.NamespaceName.StartsWith("urn:xmpp:hashes:", StringComparison.Ordinal)) || (e.Name.LocalName == "hash" && e.Name.NamespaceName.Contains("file-transfer", StringComparison.Ordinal)))
            return IsBase64(v);
        if (e.Name.NamespaceName.Contains("file-transfer", StringComparison.Ordinal) || e.Name.Namespace == EventNs.FileMetadata)
            return (e.Name.LocalName is "size" or "width" or "height" or "length" && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                   || (e.Name.LocalName == "date" && DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.None, out _));
        return false;
    }

    /// <summary>Base64 payloads: in-band bytestream data (XEP-0047), avatar data, bits of binary, a vCard photo.</summary>
    private static bool BinaryData(XElement e) =>
        e.Name == EventNs.Ibb + "data" || e.Name == AvatarData + "data" || e.Name == Bob + "data" || e.Name.LocalName == "BINVAL";

    private static bool IsBase64(string v)
    {
        var buffer = new byte[(v.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(v, buffer, out _);
    }

    /// <summary>The text base64 <paramref name="value"/> carries: itself when it is not base64 (then it is words
    /// written where bytes belong), the decoded UTF-8 when that is readable text, null when it is bytes.</summary>
    internal static string? DecodedText(string value)
    {
        var v = value.Trim();
        if (v.Length == 0) return null;
        byte[] bytes;
        try { bytes = Convert.FromBase64String(v); }
        catch (FormatException) { return v; }
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
        // Readable: no control characters but line ends and tabs (binary formats are full of them).
        return text.All(c => !char.IsControl(c) || c is '\n' or '\r' or '\t') ? text : null;
    }
}
