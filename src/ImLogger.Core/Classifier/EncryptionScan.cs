using System.Xml.Linq;

namespace ImLogger.Classifier;

/// <summary>What <see cref="EncryptionScan"/> found in a stanza.</summary>
/// <param name="Scheme">A fixed name per namespace (never text from the stanza): it reaches notices and errors.</param>
/// <param name="Ciphertext">An encrypted message payload (OMEMO with a payload, an OpenPGP element, OTR data), as opposed
/// to key material only (an OMEMO key transport, device lists, bundles, public keys).</param>
/// <param name="OnlyInArchiveResult">Every finding sits inside a XEP-0313 archive result: the user's own past, replayed.</param>
public sealed record EncryptionFinding(string Scheme, bool Ciphertext, bool OnlyInArchiveResult);

/// <summary>
/// Refuse by default: looks at the whole tree of a stanza, every element and every text node, whatever wraps it
/// (carbons, forwarded, archive results, pubsub events, invitations, errors), in any stanza kind, independent of what the
/// classifier made of it. End-to-end namespaces are matched exactly, as XML does: <c>urn:xmpp:OMEMO:2</c> is another
/// namespace, which no client decrypts. A XEP-0380 marker alone is not encryption: it names a scheme, it hides nothing.
/// </summary>
public static class EncryptionScan
{
    /// <summary>OMEMO versions a client may send (0.3 under the Conversations namespace, then urn:xmpp:omemo:N).</summary>
    private const string OmemoPrefix = "urn:xmpp:omemo:";

    private static readonly Dictionary<string, string> Schemes = new(StringComparer.Ordinal)
    {
        ["eu.siacs.conversations.axolotl"] = "OMEMO",
        ["urn:xmpp:omemo:1"] = "OMEMO 1",
        ["urn:xmpp:omemo:2"] = "OMEMO 2",
        ["jabber:x:encrypted"] = "OpenPGP (XEP-0027)",
        ["urn:xmpp:openpgp:0"] = "OpenPGP (XEP-0373)",
    };

    /// <summary>The name of an OMEMO version not listed above (any later urn:xmpp:omemo:N).</summary>
    public const string OtherOmemo = "OMEMO (other version)";

    /// <summary>OTR's scheme name.</summary>
    public const string Otr = "OTR";

    /// <summary>The whitespace tag that starts an OTR offer inside plain text (OTR protocol v2/v3, "Tagged plaintext").</summary>
    private const string OtrWhitespaceTag = " \t  \t\t\t\t \t \t \t  ";

    private static readonly XNamespace[] ArchiveResults = ["urn:xmpp:mam:2", "urn:xmpp:mam:1", "urn:xmpp:mam:0"];

    /// <summary>The strongest finding in <paramref name="stanza"/> (ciphertext over key material), or null when it holds
    /// no end-to-end encryption.</summary>
    public static EncryptionFinding? Find(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        EncryptionFinding? best = null;
        var outsideArchive = false;
        foreach (var e in stanza.DescendantsAndSelf())
        {
            var scheme = e == stanza ? null : SchemeOf(e.Name.NamespaceName);
            var ciphertext = scheme != null && IsPayload(e);
            // libotr finds "?OTR" anywhere in a message's text: any body, any language, XHTML, after spaces. An element's
            // text is read as a client reads it, joined across CDATA sections and comments ("?OT<![CDATA[R]]>" is "?OTR").
            if (scheme == null && TextOf(e) is { } text && IsOtr(text))
                (scheme, ciphertext) = (Otr, true);
            if (scheme == null) continue;
            outsideArchive |= !InArchiveResult(e);
            if (best == null || (ciphertext && !best.Ciphertext)) best = new EncryptionFinding(scheme, ciphertext, false);
        }
        return best == null ? null : best with { OnlyInArchiveResult = !outsideArchive };
    }

    /// <summary>Whether <paramref name="ns"/> is an end-to-end encryption namespace (compared exactly, as XML does).</summary>
    public static bool IsEndToEndNamespace(string ns) => SchemeOf(ns) != null;

    private static string? SchemeOf(string ns) =>
        Schemes.TryGetValue(ns, out var s) ? s : ns.StartsWith(OmemoPrefix, StringComparison.Ordinal) ? OtherOmemo : null;

    /// <summary>A message payload rather than keys: OMEMO's &lt;encrypted&gt; with a &lt;payload&gt;, OX's &lt;openpgp&gt;,
    /// XEP-0027's &lt;x&gt;.</summary>
    private static bool IsPayload(XElement e) => e.Name.LocalName switch
    {
        "encrypted" => e.Element(e.Name.Namespace + "payload") != null,
        "openpgp" => e.Name.NamespaceName == "urn:xmpp:openpgp:0",
        "x" => e.Name.NamespaceName == "jabber:x:encrypted",
        _ => false,
    };

    /// <summary>An element's own text nodes (CDATA included, comments not) joined, or null when it has none. Runs for every
    /// element of every stanza: no enumerator, and no new string for the usual single text node.</summary>
    private static string? TextOf(XElement e)
    {
        string? single = null;
        System.Text.StringBuilder? joined = null;
        for (var node = e.FirstNode; node != null; node = node.NextNode)
        {
            if (node is not XText t) continue;
            if (single == null) single = t.Value;
            else (joined ??= new System.Text.StringBuilder(single)).Append(t.Value);
        }
        return joined?.ToString() ?? single;
    }

    private static bool IsOtr(string text) =>
        text.Contains("?OTR", StringComparison.Ordinal) || text.Contains(OtrWhitespaceTag, StringComparison.Ordinal);

    private static bool InArchiveResult(XNode node) =>
        node.Ancestors().Any(a => a.Name.LocalName == "result" && ArchiveResults.Contains(a.Name.Namespace));
}
