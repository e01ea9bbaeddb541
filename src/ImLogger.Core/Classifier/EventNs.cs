using System.Xml.Linq;

namespace ImLogger.Classifier;

/// <summary>Namespaces of the payloads the classifier recognises (beyond <see cref="ImLogger.Envelope.Ns"/>).</summary>
internal static class EventNs
{
    public static readonly XNamespace Correct = "urn:xmpp:message-correct:0";
    public static readonly XNamespace Retract0 = "urn:xmpp:message-retract:0";
    public static readonly XNamespace Retract1 = "urn:xmpp:message-retract:1";
    public static readonly XNamespace Fasten = "urn:xmpp:fasten:0";
    public static readonly XNamespace Moderate1 = "urn:xmpp:message-moderate:1";
    public static readonly XNamespace Sid = "urn:xmpp:sid:0";
    public static readonly XNamespace DirectInvite = "jabber:x:conference";
    public static readonly XNamespace Oob = "jabber:x:oob";
    public static readonly XNamespace Reactions = "urn:xmpp:reactions:0";
    public static readonly XNamespace Sfs = "urn:xmpp:sfs:0";
    public static readonly XNamespace FileMetadata = "urn:xmpp:file:metadata:0";
    public static readonly XNamespace Si = "http://jabber.org/protocol/si";
    public static readonly XNamespace SiFile = "http://jabber.org/protocol/si/profile/file-transfer";
    public static readonly XNamespace Ibb = "http://jabber.org/protocol/ibb";
    public static readonly XNamespace Jingle = "urn:xmpp:jingle:1";
    public static readonly XNamespace Rtp = "urn:xmpp:jingle:apps:rtp:1";
    public static readonly XNamespace Muji = "urn:xmpp:jingle:muji:0";
    public static readonly XNamespace CallInvites = "urn:xmpp:call-invites:0";
    public static readonly XNamespace OmemoLegacy = "eu.siacs.conversations.axolotl";
    public static readonly XNamespace Omemo2 = "urn:xmpp:omemo:2";
    public static readonly XNamespace PgpLegacy = "jabber:x:encrypted";
    public static readonly XNamespace Ox = "urn:xmpp:openpgp:0";
    public static readonly XNamespace Eme = "urn:xmpp:eme:0";

    /// <summary>XEP-0353 Jingle Message Initiation (version 0 and the namespace-bumped 1).</summary>
    public static bool IsJmi(XNamespace ns) => ns.NamespaceName is "urn:xmpp:jingle-message:0" or "urn:xmpp:jingle-message:1";

    /// <summary>XEP-0234 file transfer descriptions, any version a client still sends.</summary>
    public static bool IsJingleFileTransfer(XNamespace ns) => ns.NamespaceName.StartsWith("urn:xmpp:jingle:apps:file-transfer:", StringComparison.Ordinal);

    /// <summary>
    /// Message payloads that carry no content of their own: delivery and reading state, hints, ids,
    /// and the server's own copies of messages archived elsewhere (carbons, MAM results, PEP notifications).
    /// A message made only of these (and no body) is housekeeping, not something a user said.
    /// </summary>
    public static readonly HashSet<string> MessageHousekeeping = new(StringComparer.Ordinal)
    {
        "http://jabber.org/protocol/chatstates", // XEP-0085 typing
        "urn:xmpp:receipts",                     // XEP-0184
        "urn:xmpp:chat-markers:0",               // XEP-0333
        "urn:xmpp:mds:displayed:0",              // XEP-0490
        "urn:xmpp:hints",                        // XEP-0334
        "urn:xmpp:sid:0",                        // XEP-0359 ids
        "urn:xmpp:delay",                        // XEP-0203
        "urn:xmpp:carbons:2",                    // XEP-0280 copies of messages archived from the original
        "urn:xmpp:mam:2",                        // XEP-0313 archive results: replays, archived when sent
        "http://jabber.org/protocol/pubsub#event", // PEP: avatars, device lists, bookmarks, nicknames
        "urn:xmpp:occupant-id:0",
        "http://jabber.org/protocol/address",
        "urn:xmpp:fallback:0",
        "jabber:client",                         // <thread/>, an empty <subject/>
    };

    /// <summary>
    /// Iq payloads that are session and account housekeeping (roster, pings, discovery, profile, storage,
    /// archive queries, upload slot requests whose link is archived when shared, stream negotiation).
    /// </summary>
    public static readonly HashSet<string> IqHousekeeping = new(StringComparer.Ordinal)
    {
        "jabber:iq:roster", "urn:xmpp:ping", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
        "vcard-temp", "urn:xmpp:vcard4", "urn:xmpp:carbons:2", "urn:xmpp:mam:2", "http://jabber.org/protocol/pubsub",
        "http://jabber.org/protocol/pubsub#owner", "jabber:iq:private", "urn:xmpp:blocking", "jabber:iq:version", "jabber:iq:last",
        "urn:xmpp:time", "urn:xmpp:http:upload:0", "urn:ietf:params:xml:ns:xmpp-bind", "urn:ietf:params:xml:ns:xmpp-session",
        "http://jabber.org/protocol/bytestreams", "urn:xmpp:push:0", "jabber:iq:privacy", "urn:xmpp:bookmarks:1",
        "http://jabber.org/protocol/muc#owner", "http://jabber.org/protocol/muc#admin", "urn:xmpp:extdisco:2", "urn:xmpp:jingle:1",
    };
}
