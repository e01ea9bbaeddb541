using System.Collections.Concurrent;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Spool;

namespace ImLogger.Policy;

/// <summary>
/// What logged users may not do, decided per held stanza (inline mode) with the rule that decided it:
/// <list type="bullet">
/// <item><c>end-to-end-encryption</c>: no end-to-end encryption (OMEMO, OpenPGP, OTR, their keys) anywhere in a stanza, sent or
/// received, found by <see cref="EncryptionScan"/>: being logged wins over either party's preference for encryption;</item>
/// <item><c>federated-group-chat</c>: no joining a group chat hosted by a domain this server does not serve
/// (federated users joining rooms hosted here are not affected: their stanzas are not a logged user's);</item>
/// <item><c>encrypted-group-chat</c>: no joining a room known to be end-to-end encrypted: listed in the config,
/// or seen reflecting encrypted traffic to a logged occupant (remembered in the spool across restarts, until an admin
/// forgets it);</item>
/// <item><c>unapproved-client</c>: where the organization lists approved clients, a logged user's session may send
/// only once its client is identified (see <see cref="ClientRegistry"/>) as one of them, at the minimum version.</item>
/// </list>
/// The classifier's events say what a stanza is (an <see cref="EventKind.Encrypted"/> event for any encrypted
/// payload); the policy only decides, and knows nothing of sockets or servers.
/// </summary>
/// <remarks>Thread-safe for reads; called from the pipeline's single loop.</remarks>
public sealed partial class CompliancePolicy(RestrictionSettings restrictions, Func<string, OrganizationConfig?>? organizationOf = null, ClientRegistry? clients = null,
    IEncryptedRoomStore? store = null)
{
    /// <summary>The sessions' clients, learned from presence and version replies.</summary>
    public ClientRegistry? Clients => clients;

    private static readonly System.Xml.Linq.XNamespace Muc = "http://jabber.org/protocol/muc";
    private readonly ConcurrentDictionary<string, string> _encryptedRooms = new(
        (store?.LearnedEncryptedRooms() ?? new Dictionary<string, string>())
            .Concat(restrictions.EncryptedRooms.Select(r => KeyValuePair.Create(r, "listed in the config")))
            .GroupBy(kv => kv.Key, StringComparer.Ordinal).Select(g => g.Last()), StringComparer.Ordinal);

    /// <summary>Learned rooms whose record in the store failed (disk full): retried at the next observation.</summary>
    private readonly ConcurrentQueue<(string Room, string Why)> _unsaved = new();

    /// <summary>Rooms logged users may not join, with why.</summary>
    public IReadOnlyDictionary<string, string> EncryptedRooms => _encryptedRooms;

    /// <summary>Learns from one classified stanza (in either mode): a room is encrypted when it reflected ciphertext to a
    /// logged occupant (<see cref="Classification.EncryptedRoom"/>). What a client sends, or a bare XEP-0380 marker, teaches
    /// nothing: anyone could close any room to logged users with it. Also retries records the store could not write.</summary>
    public void Observe(Classification classification)
    {
        ArgumentNullException.ThrowIfNull(classification);
        if (classification.EncryptedRoom is { } room)
        {
            var seen = classification.Events.FirstOrDefault()?.ReceivedUtc ?? DateTimeOffset.UtcNow;
            var why = $"encrypted traffic seen at {seen:u}";
            if (_encryptedRooms.TryAdd(room, why)) _unsaved.Enqueue((room, why));
        }
        while (store != null && store is not ImLogger.Domain.IUnitOfWork && _unsaved.TryPeek(out var next))
        {
            try
            {
                store.AddLearnedEncryptedRoom(next.Room, next.Why);
                _unsaved.TryDequeue(out _);
            }
            catch (Exception x) when (x is SpoolUnavailableException or IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                return; // enforced from memory meanwhile; the spool's own errors are logged by the writer
            }
        }
    }

    /// <summary>Rooms learned and not yet in a store that offers a unit of work (the spool): written with the batch.</summary>
    public IReadOnlyList<(string Room, string Why)> UnsavedRooms() => store is ImLogger.Domain.IUnitOfWork ? _unsaved.ToArray() : [];

    /// <summary>Writes <paramref name="rooms"/> (from <see cref="UnsavedRooms"/>) inside the batch's unit of work.</summary>
    public void SaveRooms(IReadOnlyList<(string Room, string Why)> rooms)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        foreach (var (room, why) in rooms) store!.AddLearnedEncryptedRoom(room, why);
    }

    /// <summary>The batch holding <paramref name="rooms"/> was committed (they are the oldest unsaved: the queue only grows at its end).</summary>
    public void RoomsSaved(IReadOnlyList<(string Room, string Why)> rooms)
    {
        ArgumentNullException.ThrowIfNull(rooms);
        for (var i = 0; i < rooms.Count; i++) _unsaved.TryDequeue(out _);
    }

    /// <summary>Forgets a room learned to be encrypted (listed rooms stay: they are the config's); false if it was not learned.</summary>
    public bool Forget(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        if (restrictions.EncryptedRooms.Contains(room, StringComparer.Ordinal)) return false;
        var known = _encryptedRooms.TryRemove(room, out _);
        var stored = store?.ForgetLearnedEncryptedRoom(room) ?? false;
        return known || stored;
    }

    /// <summary>What the server adapter names, in a held item's <c>restricted</c> attribute, a stanza it refused because
    /// encryption is disabled for logged users (<see cref="RefusalRule.EncryptionDisabled"/>).</summary>
    public const string EncryptionDisabled = "encryption-disabled";

    /// <summary>Decides one held stanza, given what the classifier made of it.</summary>
    public InlineVerdict Decide(InlineItem item, IReadOnlyList<ConversationEvent> events)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(events);
        var stanza = item.Stanza;
        var from = (string?)stanza.Attribute("from") ?? item.User;
        var to = (string?)stanza.Attribute("to") ?? "";

        // Every text below is ImLogger's own or the config's: a scheme comes from a fixed list (never the EME name
        // attribute), a client is named only as the config names it, and JIDs only as the server prepped them.
        // Refuse by default: the encryption pass scans the held stanza itself, whatever the classifier made of it (an
        // archive result it does not archive, a wrapper, a presence, an iq answer).
        // The server adapter refused it already (a key node publish or fetch: encryption is disabled for logged users); the
        // archive records the attempt as refused, whatever else it holds. No notice: clients retry keys at every sign-in.
        if (item.Restricted != null)
            return InlineVerdict.Deny(item.Restricted == EncryptionDisabled ? RefusalRule.EncryptionDisabled : RefusalRule.ServerRestriction, "not-allowed",
                item.Restricted == EncryptionDisabled
                    ? "Encryption is disabled for users whose conversations are archived for compliance: OMEMO and OpenPGP keys cannot be published or fetched."
                    : "The server refused this stanza.");

        var found = EncryptionScan.Find(stanza);
        var encrypted = events.FirstOrDefault(e => e.Kind == EventKind.Encrypted);
        if (found != null || encrypted != null)
        {
            var scheme = found?.Scheme ?? encrypted?.EncryptionScheme ?? "end-to-end encryption";
            // Key material (a device list or bundle publish, a key transport) and the user's own archive replayed are
            // refused without a notice each time: clients republish keys at every sign-in and page through archives, and a
            // notice per stanza would drown the ones that matter. The error says why.
            if (found is { Ciphertext: false } or { OnlyInArchiveResult: true })
                return InlineVerdict.Deny(RefusalRule.EndToEndEncryption, "policy-violation",
                    $"End-to-end encryption ({scheme}) cannot be exchanged by or with a user whose conversations are logged for compliance.");
            return item.Direction == InlineDirection.Out
                ? InlineVerdict.Deny(RefusalRule.EndToEndEncryption, "policy-violation",
                    $"Your conversations are logged for compliance, so end-to-end encrypted messages ({scheme}) cannot be sent: this one was not delivered. Turn encryption off for this chat and send it again.",
                    $"Your encrypted message ({scheme}) to {Shown(Bare(to))} was not delivered: your conversations are logged for compliance, and encrypted messages cannot be archived. Turn encryption off for this chat and send it again.")
                : InlineVerdict.Deny(RefusalRule.EndToEndEncryption, "policy-violation",
                    $"{Shown(item.User)} is logged for compliance, so end-to-end encrypted messages ({scheme}) to them cannot be archived and are refused. Send it without encryption.",
                    $"{Shown(Bare(from))} sent you an encrypted message ({scheme}); it was refused because your conversations are logged for compliance. Ask them to send it without encryption.");
        }

        if (item.Direction == InlineDirection.Out && stanza.Name.LocalName != "presence"
            && organizationOf?.Invoke(item.User)?.ApprovedClients is { } approved && clients != null)
        {
            var client = clients.Get(from);
            var allowedList = string.Join(", ", approved);
            if (client is not { Answered: true })
                return InlineVerdict.Deny(RefusalRule.UnapprovedClient, "policy-violation",
                    $"ImLogger has not identified your client yet (logged users may use only: {allowedList}); it has asked for its version. Try again in a moment.",
                    type: "wait");
            if (!approved.Any(a => a.Matches(client.Name, client.CapsNode, client.Version)))
            {
                var yours = Describe(approved, client);
                return InlineVerdict.Deny(RefusalRule.UnapprovedClient, "policy-violation",
                    $"Your client{yours} is not approved for logged users; use one of: {allowedList}.",
                    $"Your messages cannot be sent from this client{yours}: logged users may use only {allowedList}.") with { Detail = $"the session runs {client}" };
            }
        }

        if (item.Direction == InlineDirection.Out && IsGroupChatJoin(stanza))
        {
            var room = Bare(to);
            if (!item.ToLocal)
                return InlineVerdict.Deny(RefusalRule.FederatedGroupChat, "policy-violation",
                    $"Logged users may not join group chats hosted on other servers ({Shown(Domain(room))}); {Shown(room)} was not joined.",
                    $"You could not join {Shown(room)}: logged users may only join group chats hosted by your own server.");
            if (_encryptedRooms.TryGetValue(room, out var why))
                return InlineVerdict.Deny(RefusalRule.EncryptedGroupChat, "policy-violation",
                    $"Logged users may not join end-to-end encrypted group chats; {Shown(room)} is one ({why}).",
                    $"You could not join {Shown(room)}: it is an end-to-end encrypted group chat, and your conversations are logged.");
        }
        return InlineVerdict.Allow;
    }

    /// <summary>XEP-0045 §7.2: available presence to room@service/nick carrying &lt;x xmlns="http://jabber.org/protocol/muc"/&gt;.</summary>
    private static bool IsGroupChatJoin(System.Xml.Linq.XElement stanza) =>
        stanza.Name.LocalName == "presence" && stanza.Attribute("type") == null && stanza.Element(Muc + "x") != null
        && ((string?)stanza.Attribute("to"))?.Contains('/') == true;

    private static string Bare(string jid) => jid.IndexOf('/') is var i and >= 0 ? jid[..i].ToLowerInvariant() : jid.ToLowerInvariant();

    private static string Domain(string jid) => jid[(jid.IndexOf('@') + 1)..];

    /// <summary>A JID as a notice may show it: the server prepped it (no spaces, no "/", ":" or "&lt;" in a local part,
    /// RFC 7622), so it names someone and cannot carry a sentence; anything else (a laxer server) is not shown.</summary>
    internal static string Shown(string jid) =>
        jid.Length is > 0 and <= 3071 && !jid.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '\'' or '<' or '>' or ':' or '&' or '/')
            ? jid : "another address";

    /// <summary>" (Conversations 2.10)" when the session runs an approved client below its minimum version, named as the
    /// config names it, with the version numbers it reported; "" otherwise: what a client calls itself is never repeated
    /// to anyone (the log and the archive have it).</summary>
    private static string Describe(IReadOnlyList<ApprovedClient> approved, ClientRegistry.ClientInfo client)
    {
        var same = approved.FirstOrDefault(a => (a with { MinVersion = null }).Matches(client.Name, client.CapsNode, null));
        if (same == null) return "";
        return $" ({same.Name ?? same.CapsNode}{(client.Version is { } v ? " " + v : ", version unknown")})";
    }
}
