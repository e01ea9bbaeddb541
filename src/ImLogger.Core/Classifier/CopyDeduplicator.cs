using System.Security.Cryptography;
using System.Text;
using ImLogger.Conversations;

namespace ImLogger.Classifier;

/// <summary>
/// The server copies a stanza once per logged party and per delivery (a message between two
/// logged users arrives twice; a group chat message once per logged occupant plus the sender's own
/// copy). This keeps the first copy of each message seen within the window and drops the rest.
/// </summary>
/// <remarks>
/// An event is identified by its kind, conversation, sender (one-to-one only: a room's reflection names
/// the occupant, not the sender's own JID), its ids (XEP-0359 origin-id, the stanza's id, the server's
/// stanza-id: any one in common is enough) and content (text, HTML, the message it refers to, session,
/// file, link). A mediated invitation reaches the component twice
/// with different senders and ids (inviter to room, room to invitee): it is identified by room, inviter,
/// invitee and reason within the short window. Messages without an id are
/// matched within a short window only, so two identical id-less messages typed seconds apart are
/// both kept. Joins and leaves need no entry here: <see cref="RoomRoster"/> already collapses repeats, and
/// notices are the component's own.
/// Memory is bounded by <paramref name="maxEntries"/>; the oldest entries go first.
/// </remarks>
public sealed class CopyDeduplicator(TimeSpan window, TimeProvider time, int maxEntries = 200_000)
{
    private static readonly TimeSpan IdlessWindow = TimeSpan.FromSeconds(2);
    // Monotonic timestamps: a wall clock stepped back must not hold every id for a day, nor one stepped forward let the
    // copies of a message just archived in again.
    private readonly Dictionary<string, long> _expiry = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, long Expires)> _order = new();

    /// <summary>True if this event was already seen within the window (and so must not be archived again).</summary>
    /// <remarks>A copy may lack an id another copy has (a room stamps its stanza-id on reflections only, a server may
    /// rewrite the id): an event is a repeat if any of its ids (origin-id, id, server stanza-id) was seen with the same
    /// content, and each of its ids then counts for later copies.</remarks>
    public bool IsRepeat(ConversationEvent e)
    {
        if (e.Kind is EventKind.Joined or EventKind.Left or EventKind.Present or EventKind.Notice) return false;
        var now = time.GetTimestamp();
        Evict(now);
        var keys = KeysOf(e);
        var repeat = keys.Any(k => _expiry.TryGetValue(k, out var expires) && expires > now);
        var idless = (e.OriginId ?? e.StanzaId ?? e.ServerStanzaId) == null || e.Kind is EventKind.Invitation or EventKind.InvitationDeclined;
        var until = now + (long)((idless ? (IdlessWindow < window ? IdlessWindow : window) : window).TotalSeconds * time.TimestampFrequency);
        foreach (var key in keys)
        {
            if (repeat && _expiry.ContainsKey(key)) continue; // a repeat does not extend the window it matched
            _expiry[key] = until;
            _order.Enqueue((key, until));
        }
        return repeat;
    }

    /// <summary>Remembers an event stored by an earlier run (recalled at start), for <paramref name="keepFor"/> whatever
    /// the dedup window, if it has an id: the server's inline module sends again, up to its timeout after it held
    /// it, a stanza that run stored and did not answer, and it must come in as a repeat however slow the restart was.</summary>
    public void Recall(ConversationEvent e, TimeSpan keepFor)
    {
        if (e.Kind is EventKind.Joined or EventKind.Left or EventKind.Present or EventKind.Notice) return;
        // Without an id, a stanza sent again cannot be told from a new one with the same words: kept only as long as a live
        // id-less copy is (archived twice, rather than a second "ok" typed after the restart archived never).
        if ((e.OriginId ?? e.StanzaId ?? e.ServerStanzaId) == null || e.Kind is EventKind.Invitation or EventKind.InvitationDeclined)
        {
            IsRepeat(e);
            return;
        }
        var now = time.GetTimestamp();
        Evict(now);
        var until = now + (long)(Math.Max(keepFor.TotalSeconds, window.TotalSeconds) * time.TimestampFrequency);
        foreach (var key in KeysOf(e))
        {
            if (_expiry.TryGetValue(key, out var expires) && expires >= until) continue;
            _expiry[key] = until;
            _order.Enqueue((key, until));
        }
    }

    private void Evict(long now)
    {
        while (_order.Count > 0 && (_order.Peek().Expires <= now || _order.Count > maxEntries))
        {
            var (key, expires) = _order.Dequeue();
            if (_expiry.TryGetValue(key, out var current) && current == expires) _expiry.Remove(key);
        }
    }

    private static List<string> KeysOf(ConversationEvent e)
    {
        if (e.Kind is EventKind.Invitation or EventKind.InvitationDeclined)
            return [$"{e.Kind}\u0000{e.ConversationKey}\u0000{e.Room}\u0000{e.Inviter}\u0000{e.Invitee}\u0000{e.Reason}"];
        var sender = e.ConversationType == ConversationType.GroupChat ? "" : e.From;
        var content = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{e.Text}\u0000{e.Html}\u0000{e.RelatedId}\u0000{e.SessionId}\u0000{e.FileName}\u0000{e.Url}\u0000{e.Room}\u0000{e.Reason}")));
        var prefix = $"{e.Kind}\u0000{e.ConversationKey}\u0000{sender}\u0000";
        var ids = new[] { ("o", e.OriginId), ("i", e.StanzaId), ("s", e.ServerStanzaId) }.Where(i => i.Item2 != null).ToList();
        return ids.Count == 0
            ? [prefix + "\u0000" + content]
            : ids.Select(i => $"{prefix}{i.Item1}:{i.Item2}\u0000{content}").ToList();
    }
}
