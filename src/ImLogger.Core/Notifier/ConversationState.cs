using ImLogger.Conversations;

namespace ImLogger.Notifier;

/// <summary>What the notifier knows of one conversation: its participants, its logged users and what each was told when.</summary>
/// <remarks>Times are monotonic timestamps (<see cref="TimeProvider.GetTimestamp"/>), never wall time: a clock step must not
/// stretch or cut the notice hour.</remarks>
internal sealed class ConversationState(ConversationType type, string key, TimeProvider time)
{
    // The three room collections are made for rooms only: a one-to-one conversation never fills them, and with 10,000
    // open conversations the empty ones were about 2.5 MB (docs/performance.md, "Memory per open conversation").
    // Only rooms write them (Apply and RestoreOccupant return first otherwise); the shared empty ones are only read.
    private static readonly Dictionary<string, string?> NoOccupants = new(StringComparer.Ordinal);
    private static readonly HashSet<string> NoneHidden = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, long> NoneLeft = new(StringComparer.Ordinal);

    /// <summary>Room occupants by nick, with their real bare JID when the room discloses it.</summary>
    private readonly Dictionary<string, string?> _occupants = type == ConversationType.GroupChat ? new(StringComparer.Ordinal) : NoOccupants;

    /// <summary>Nicks of occupants whose real JID the room hides from its occupants (the server's MUC module told it).</summary>
    private readonly HashSet<string> _hidden = type == ConversationType.GroupChat ? new(StringComparer.Ordinal) : NoneHidden;

    /// <summary>Who left the room lately (real bare JID, or "/nick" when the room hides it), by when: their return soon
    /// after is a reconnect, not a join.</summary>
    private readonly Dictionary<string, long> _recentlyLeft = type == ConversationType.GroupChat ? new(StringComparer.Ordinal) : NoneLeft;

    public ConversationType Type { get; } = type;
    public string Key { get; } = key;
    public HashSet<string> LoggedUsers { get; } = new(StringComparer.Ordinal);
    public Dictionary<(string Participant, string Text), long> LastSent { get; } = [];
    public long LastActivity { get; private set; }

    /// <summary>Set by <see cref="Apply"/> when the event named the real JID of an occupant known until then by nick only.</summary>
    public string? JustIdentified { get; private set; }

    /// <summary>
    /// Bare JIDs that can be told: both parties of a one-to-one chat (a room occupant addressed as
    /// room@service/nick cannot be reached by a component), and the occupants of a room whose real
    /// JID the room discloses (in an anonymous room the others are out of reach).
    /// </summary>
    public IEnumerable<string> Participants => Type == ConversationType.OneToOne
        ? JidText.Parties(Key).Where(p => !p.Contains('/'))
        : _occupants.Values.OfType<string>().Distinct(StringComparer.Ordinal);

    /// <summary>Occupants whose real JID is unknown (anonymous rooms), who therefore cannot be notified.</summary>
    public int Unreachable => Type == ConversationType.GroupChat ? _occupants.Values.Count(v => v == null) : 0;

    /// <summary>Follows one event at monotonic time <paramref name="now"/>.</summary>
    /// <returns>True when the event is a rejoin: the same occupant (real JID, or nick in a room that hides it) joining again
    /// within <paramref name="reconnectGrace"/> of leaving.</returns>
    public bool Apply(ConversationEvent e, long now, TimeSpan reconnectGrace)
    {
        LastActivity = now;
        JustIdentified = null;
        foreach (var u in e.LoggedUsers) LoggedUsers.Add(u);
        if (Type != ConversationType.GroupChat || e.Nick == null) return false;
        var who = e.SenderBareJid ?? "/" + e.Nick;
        // An occupant followed by nick only until now (the first copy of their presence hid the real JID) is reachable from
        // this event on: the notifier tells them what their join could not.
        if (e.SenderBareJid != null && e.Kind != EventKind.Left && _occupants.TryGetValue(e.Nick, out var before) && before == null)
            JustIdentified = e.SenderBareJid;
        switch (e.Kind)
        {
            case EventKind.Message when e.SenderBareJid != null && JustIdentified != null:
                _occupants[e.Nick] = e.SenderBareJid;
                if (e.RealJidHidden) _hidden.Add(e.Nick);
                return false;
            case EventKind.Joined or EventKind.Present:
                _occupants[e.Nick] = e.SenderBareJid;
                if (e.RealJidHidden) _hidden.Add(e.Nick); else _hidden.Remove(e.Nick);
                return e.Kind == EventKind.Joined && _recentlyLeft.Remove(who, out var left) && time.GetElapsedTime(left, now) < reconnectGrace;
            case EventKind.Left:
                _occupants.Remove(e.Nick);
                _hidden.Remove(e.Nick);
                ForgetOldLeaves(now, reconnectGrace);
                _recentlyLeft[who] = now;
                // A logged user who left is no longer a reason to notify the others.
                if (e.SenderBareJid != null && !_occupants.ContainsValue(e.SenderBareJid)) LoggedUsers.Remove(e.SenderBareJid);
                return false;
            case EventKind.Message when e.SenderBareJid != null && !_occupants.ContainsKey(e.Nick):
                // The component started following this room mid-way (after a restart): learn from messages too.
                _occupants[e.Nick] = e.SenderBareJid;
                if (e.RealJidHidden) _hidden.Add(e.Nick);
                return false;
            default:
                return false;
        }
    }

    /// <summary>Puts back an occupant kept in the spool by the previous run (ArchiveNotifier.Continuity.cs), unless this run
    /// already knows the nick.</summary>
    public void RestoreOccupant(string nick, string realJid, bool hidden)
    {
        if (Type != ConversationType.GroupChat || !_occupants.TryAdd(nick, realJid)) return;
        if (hidden) _hidden.Add(nick);
    }

    /// <summary>Whether the room hides this occupant's real JID from the other occupants.</summary>
    public bool IsHidden(string nick) => _hidden.Contains(nick);

    /// <summary>Where a notice to <paramref name="participant"/> goes: room@service/nick when the room hides their real
    /// JID (the server's MUC module delivers it to them from the room), else the participant's bare JID.</summary>
    /// <returns>The address, and the nick when it goes through the room.</returns>
    public (string Address, string? Nick) AddressOf(string participant)
    {
        if (Type == ConversationType.GroupChat)
            foreach (var nick in _hidden)
                if (_occupants.TryGetValue(nick, out var jid) && string.Equals(jid, participant, StringComparison.Ordinal))
                    return (Key + "/" + nick, nick);
        return (participant, null);
    }

    private void ForgetOldLeaves(long now, TimeSpan reconnectGrace)
    {
        if (_recentlyLeft.Count < 64) return;
        foreach (var (who, at) in _recentlyLeft.Where(kv => time.GetElapsedTime(kv.Value, now) >= reconnectGrace).ToList())
            _recentlyLeft.Remove(who);
    }
}
