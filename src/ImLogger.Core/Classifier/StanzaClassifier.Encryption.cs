using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Whether a message carries ciphertext at its top level (an OMEMO payload, an OpenPGP element), not just keys,
    /// an OTR-looking text or something wrapped: what it takes for a room that reflected it to be learned encrypted.</summary>
    private static bool CarriesCiphertext(XElement s) =>
        (s.Element(EventNs.Omemo2 + "encrypted") ?? s.Element(XNamespace.Get("urn:xmpp:omemo:1") + "encrypted") ?? s.Element(EventNs.OmemoLegacy + "encrypted")) is { } omemo
            && omemo.Element(omemo.Name.Namespace + "payload") != null
        || s.Element(EventNs.Ox + "openpgp") != null || s.Element(EventNs.PgpLegacy + "x") != null;

    /// <summary>End-to-end encryption anywhere in the stanza (<see cref="EncryptionScan"/>): the archive cannot read it,
    /// so it is its own kind (policy and the transcript must be able to say so). A XEP-0380 marker beside plain text is
    /// not encryption: the text is archived as a message. Encryption found only inside an archive result is the user's
    /// own past, not archived as new (inline mode refuses it all the same: the policy scans every held stanza).</summary>
    private static Classification? Encrypted(TapEnvelope env, Scope scope, string from, string to)
    {
        if (EncryptionScan.Find(env.Stanza) is not { } found) return null;
        // Keys published or announced (a contact's device list, reaching every contact at each sign-in) are refused
        // inline, but not archived as attempts: only a message's own key transport is.
        if (!found.Ciphertext && !env.Stanza.Elements().Any(e => e.Name.LocalName == "encrypted" && EncryptionScan.IsEndToEndNamespace(e.Name.NamespaceName)))
            return null;
        if (found.OnlyInArchiveResult)
            return Classification.Ignored($"archive result (XEP-0313) carrying end-to-end encryption ({found.Scheme}): the user's own past, not archived as new");
        return Classification.Of(EncryptedEvent(env, scope, from, to, found), $"end-to-end encryption ({found.Scheme})");
    }

    private static ConversationEvent EncryptedEvent(TapEnvelope env, Scope scope, string from, string to, EncryptionFinding found) =>
        Event(env, EventKind.Encrypted, scope, from, to) with
        {
            Text = BodyOf(env.Stanza),
            EncryptionScheme = found.Scheme,
            // OMEMO without a payload carries keys only (session setup, heartbeats), as do device lists and bundles.
            Reason = found.Ciphertext ? null : "key exchange, no message content",
        };

    /// <summary>The encryption pass, after the classifier's: whatever the classifier named (an invitation beside OMEMO, a
    /// carbon copy, a presence, an iq answer), ciphertext anywhere in the stanza adds an encrypted attempt with its scheme.
    /// Key material alone (a device list, a bundle) is refused inline but not archived as an attempt.</summary>
    private Classification WithEncryption(TapEnvelope env, string from, string to, Classification result)
    {
        if (result.Events.Any(e => e.Kind == EventKind.Encrypted)) return result;
        if (EncryptionScan.Find(env.Stanza) is not { OnlyInArchiveResult: false, Ciphertext: true } found) return result;
        var scope = result.Events.FirstOrDefault() is { } first
            ? new Scope(first.ConversationType, first.ConversationKey, first.Direction, first.LoggedUsers, first.SenderBareJid, first.Nick)
            : EncryptionScope(env.Stanza, from, to);
        if (scope == null) return result; // nobody logged is party to it
        var encrypted = EncryptedEvent(env, scope, from, to, found);
        return new Classification([.. result.Events, encrypted], $"{result.Reason}; end-to-end encryption ({found.Scheme}) inside")
        {
            EncryptedRoom = result.EncryptedRoom,
        };
    }

    /// <summary>
    /// A XEP-0280 carbon (sent or received) from the user's own account whose copied message carries ciphertext: the
    /// attempt is the copied message's (its ids, parties, direction and conversation), not the wrapper's, which would put
    /// it in the user's own conversation. In tap the server's ::deliver/::preroute copy of the message itself reaches
    /// ImLogger too (carbons only go to the user's other sessions), so the deduplicator folds the two into one attempt;
    /// a carbon whose direct copy was missed is still archived, where the message belongs. The raw XML kept is the carbon.
    /// Null for anything else (a carbon from anyone else is a forgery and stays the wrapper's, see <see cref="Housekeeping"/>).
    /// </summary>
    private Classification? EncryptedCarbon(TapEnvelope env, string fromBare, string toBare)
    {
        var s = env.Stanza;
        // Only the wrapper and the server's hints and ids beside it: words of the stanza's own (a body) keep it the classifier's.
        if (fromBare != toBare || !s.Elements().All(e => e.Name.Namespace != Ns.Client && EventNs.MessageHousekeeping.Contains(e.Name.NamespaceName))) return null;
        var wrappers = s.Elements().Where(e => e.Name == Carbons + "sent" || e.Name == Carbons + "received").ToList();
        if (wrappers.Count != 1 || wrappers[0].Element(Ns.Forward + "forwarded")?.Element(Ns.Client + "message") is not { } inner) return null;
        if (EncryptionScan.Find(inner) is not { Ciphertext: true, OnlyInArchiveResult: false } found) return null;
        var innerFrom = JidText.Normalize((string?)inner.Attribute("from") ?? "");
        // A sent carbon's message may omit from (the client's own): it is the account the carbon came from.
        if (innerFrom.Length == 0) innerFrom = fromBare;
        var innerTo = JidText.Normalize((string?)inner.Attribute("to") ?? "") is { Length: > 0 } t ? t : JidText.Bare(innerFrom);
        if (EncryptionScope(inner, innerFrom, innerTo) is not { } scope)
            return Classification.Ignored("carbon copy (XEP-0280) of an encrypted message no logged user is party to");
        var attempt = EncryptedEvent(env with { Stanza = inner }, scope, innerFrom, innerTo, found) with
        {
            RawXml = StanzaXml.Compact(s),
        };
        return Classification.Of(attempt, $"carbon copy (XEP-0280) of a message with end-to-end encryption ({found.Scheme}), as the message itself");
    }

    /// <summary>Who an encrypted stanza the classifier ignored belongs to: the room for a group chat message to or from a
    /// logged occupant, otherwise the one-to-one conversation; null when no logged user is party to it.</summary>
    private Scope? EncryptionScope(XElement s, string from, string to)
    {
        var fromBare = JidText.Bare(from);
        var toBare = JidText.Bare(to);
        if (s.Name.LocalName != "message" || (string?)s.Attribute("type") != "groupchat") return OneToOne(from, to);
        if (isLogged(fromBare)) return new Scope(ConversationType.GroupChat, toBare, Direction.Outgoing, [fromBare], fromBare, _rooms.NickOf(toBare, fromBare));
        if (!isLogged(toBare)) return null;
        var nick = JidText.Resource(from);
        return new Scope(ConversationType.GroupChat, fromBare, Direction.Incoming, [toBare], nick == null ? null : _rooms.RealJidOf(fromBare, nick), nick);
    }
}
