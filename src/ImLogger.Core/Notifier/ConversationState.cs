using ImLogger.Conversations;

namespace ImLogger.Notifier;

/// <summary>What the notifier knows of one conversation: its participants, its logged users and what each was told when.</summary>
internal sealed class ConversationState(ConversationType type, string key)
{
    /// <summary>Room occupants by nick, with their real bare JID when the room discloses it.</summary>
    private readonly Dictionary<string, string?> _occupants = new(StringComparer.Ordinal);

    public ConversationType Type { get; } = type;
    public string Key { get; } = key;
    public HashSet<string> LoggedUsers { get; } = new(StringComparer.Ordinal);
    public Dictionary<(string Participant, string Text), DateTimeOffset> LastSent { get; } = [];
    public DateTimeOffset LastActivity { get; private set; }

    /// <summary>
    /// Bare JIDs that can be told: both parties of a one-to-one chat (a room occupant addressed as
    /// room@service/nick cannot be reached by a component), and the occupants of a room whose real
    /// JID the room discloses (in an anonymous room the others are out of reach).
    /// </summary>
    public IEnumerable<string> Participants => Type == ConversationType.OneToOne
        ? Classifier.JidText.Parties(Key).Where(p => !p.Contains('/'))
        : _occupants.Values.OfType<string>().Distinct(StringComparer.Ordinal);

    /// <summary>Occupants whose real JID is unknown (anonymous rooms), who therefore cannot be notified.</summary>
    public int Unreachable => Type == ConversationType.GroupChat ? _occupants.Values.Count(v => v == null) : 0;

    public void Apply(ConversationEvent e)
    {
        LastActivity = e.ReceivedUtc;
        foreach (var u in e.LoggedUsers) LoggedUsers.Add(u);
        if (Type != ConversationType.GroupChat || e.Nick == null) return;
        switch (e.Kind)
        {
            case EventKind.Joined or EventKind.Present:
                _occupants[e.Nick] = e.SenderBareJid;
                break;
            case EventKind.Left:
                _occupants.Remove(e.Nick);
                // A logged user who left is no longer a reason to notify the others.
                if (e.SenderBareJid != null && !_occupants.ContainsValue(e.SenderBareJid)) LoggedUsers.Remove(e.SenderBareJid);
                break;
            case EventKind.Message when e.SenderBareJid != null && !_occupants.ContainsKey(e.Nick):
                // The component started following this room mid-way (after a restart): learn from messages too.
                _occupants[e.Nick] = e.SenderBareJid;
                break;
        }
    }
}
