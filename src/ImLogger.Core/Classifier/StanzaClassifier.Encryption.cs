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
