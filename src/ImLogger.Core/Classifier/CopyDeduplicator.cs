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
    // Keyed by a 16-byte digest of the event's identity (DedupKeys), not the text of it: about 1 KB of strings per event
    // less on the ingest path, and 32 bytes a window entry instead of about 300.
    private readonly Dictionary<UInt128, long> _expiry = new();
    private readonly Queue<(UInt128 Key, long Expires)> _order = new();

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
        var repeat = false;
        for (var i = 0; i < keys.Count && !repeat; i++) repeat = _expiry.TryGetValue(keys[i], out var expires) && expires > now;
        var idless = (e.OriginId ?? e.StanzaId ?? e.ServerStanzaId) == null || e.Kind is EventKind.Invitation or EventKind.InvitationDeclined;
        var until = now + (long)((idless ? (IdlessWindow < window ? IdlessWindow : window) : window).TotalSeconds * time.TimestampFrequency);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (repeat && _expiry.ContainsKey(key)) continue; // a repeat does not extend the window it matched
            _expiry[key] = until;
            _order.Enqueue((key, until));
        }
        return repeat;
    }

    /// <summary>Remembers an event stored by an earlier run (recalled at start), for <paramref name="keepFor"/> whatever
    /// the dedup window, if it has an id: the server's inline module sends again, up to its timeout after it held
    /// it, a stanza that run stored and did not answer, and it must come in as a repeat however slow the restart was.</summary>
    /// <param name="e">The event as the spool gave it back.</param>
    /// <param name="keepFor">How long the server's module may send it again.</param>
    /// <param name="content">The digest of the event's full content (<see cref="DedupKeys.Content"/>) when
    /// <paramref name="e"/> is a light copy of it (no HTML, text cut); null to compute it from <paramref name="e"/>.</param>
    public void Recall(ConversationEvent e, TimeSpan keepFor, byte[]? content = null)
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
        var keys = KeysOf(e, content);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
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

    /// <summary>An event's keys, one per id it has (or one without any): SHA-256 of its fields, cut to 16 bytes
    /// (<see cref="DedupKeys"/>).</summary>
    private static KeyList KeysOf(ConversationEvent e, byte[]? knownContent = null)
    {
        if (e.Kind is EventKind.Invitation or EventKind.InvitationDeclined)
            return new KeyList(1, DedupKeys.Of(e.Kind, e.ConversationKey, e.Room, e.Inviter, e.Invitee, e.Reason));
        var sender = e.ConversationType == ConversationType.GroupChat ? null : e.From;
        Span<byte> content = stackalloc byte[DedupKeys.ContentBytes];
        if (knownContent is { Length: DedupKeys.ContentBytes }) knownContent.CopyTo(content);
        else DedupKeys.Content(e, content);
        var keys = new KeyList();
        if (e.OriginId is { } origin) keys.Add(DedupKeys.Of(e.Kind, e.ConversationKey, sender, 'o', origin, content));
        if (e.StanzaId is { } id) keys.Add(DedupKeys.Of(e.Kind, e.ConversationKey, sender, 'i', id, content));
        if (e.ServerStanzaId is { } server) keys.Add(DedupKeys.Of(e.Kind, e.ConversationKey, sender, 's', server, content));
        if (keys.Count == 0) keys.Add(DedupKeys.Of(e.Kind, e.ConversationKey, sender, '-', null, content));
        return keys;
    }

    /// <summary>At most three keys, without a list on the heap per event.</summary>
    private struct KeyList
    {
        private UInt128 _first, _second, _third;

        public KeyList(int count, UInt128 first) => (Count, _first) = (count, first);

        public int Count { get; private set; }

        public readonly UInt128 this[int index] => index switch { 0 => _first, 1 => _second, _ => _third };

        public void Add(UInt128 key)
        {
            switch (Count++)
            {
                case 0: _first = key; break;
                case 1: _second = key; break;
                default: _third = key; break;
            }
        }
    }
}
