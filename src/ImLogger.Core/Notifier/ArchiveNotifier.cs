using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Outbound;

namespace ImLogger.Notifier;

/// <summary>
/// Tells every participant of a conversation with a logged user that it is logged, as the
/// organizations configured it, without flooding them:
/// <list type="bullet">
/// <item>each participant is owed the text of every logged user's organization that notifies
/// participants like them (inside its domain, or outside it); identical texts are sent once;</item>
/// <item>a notice goes out on activity (a message, a join), and a participant gets the same text in
/// the same conversation at most once per <see cref="Interval"/>; after that, only on new activity;</item>
/// <item>when a logged user signs out, the interval starts over for their conversations (once they stay away longer
/// than <see cref="ReconnectGrace"/>: a reconnect is not a sign-out);</item>
/// <item>a room occupant rejoining within <see cref="ReconnectGrace"/> of leaving is no activity: only they may be told.</item>
/// </list>
/// Each round is returned both as stanzas to send and as <see cref="EventKind.Notice"/> events, so the
/// transcript shows who was told what, and when.
/// </summary>
/// <remarks>Not thread-safe: called from the pipeline's single loop, in order of receipt. Durations are measured on the
/// monotonic clock (<see cref="TimeProvider.GetTimestamp"/>), so a wall clock stepped back or forward changes no interval.</remarks>
public sealed partial class ArchiveNotifier
{
    private readonly Func<string, OrganizationConfig?> _organizationOf;
    private readonly string _componentJid;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ConversationState> _conversations = new(StringComparer.Ordinal);
    private long _lastPrune;

    /// <param name="organizationOf">The organization of a logged user's bare JID (null if not logged).</param>
    /// <param name="componentJid">The component's JID, which notices come from.</param>
    /// <param name="time">The clock.</param>
    /// <param name="interval">How long a participant is not told the same thing again in one conversation.</param>
    /// <param name="reconnectGrace">How soon a sign-out or a room leave must be followed by the same user's return to be a
    /// reconnect rather than new activity (default 5 minutes).</param>
    public ArchiveNotifier(Func<string, OrganizationConfig?> organizationOf, string componentJid, TimeProvider time, TimeSpan? interval = null,
        TimeSpan? reconnectGrace = null)
    {
        ArgumentNullException.ThrowIfNull(organizationOf);
        ArgumentException.ThrowIfNullOrEmpty(componentJid);
        _organizationOf = organizationOf;
        _componentJid = componentJid;
        _time = time;
        Interval = interval ?? TimeSpan.FromHours(1);
        ReconnectGrace = reconnectGrace ?? TimeSpan.FromMinutes(5);
        _lastPrune = time.GetTimestamp();
    }

    /// <summary>The least time between two identical notices to one participant in one conversation.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Conversations being followed (bounded: silent ones are forgotten after the interval).</summary>
    public int ConversationCount => _conversations.Count;

    /// <summary>Follows the events in order; after each event that is activity, adds the notices it calls for.</summary>
    /// <returns>The events with the notice events inserted after their trigger, and the stanzas to send.</returns>
    public (IReadOnlyList<ConversationEvent> Events, IReadOnlyList<XElement> Stanzas) Observe(IReadOnlyList<ConversationEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var output = new List<ConversationEvent>(events.Count);
        var stanzas = new List<XElement>();
        var now = _time.GetTimestamp();
        foreach (var e in events)
        {
            output.Add(e);
            if (e.Kind == EventKind.Notice) continue;
            // A room's echo of someone leaving comes after their sign-out: it is no sign of a session.
            if (e.SenderBareJid != null && e.Kind != EventKind.Left) Seen(e.SenderBareJid);
            StartOverForSignOuts(now);
            if (!_conversations.TryGetValue(e.ConversationKey, out var conversation))
            {
                _conversations[e.ConversationKey] = conversation = new ConversationState(e.ConversationType, e.ConversationKey, _time);
                RestoreKept(conversation); // ArchiveNotifier.Continuity.cs: the notice hour across restarts
            }
            var rejoin = conversation.Apply(e, now, ReconnectGrace);
            KeepOccupant(conversation, e);
            if (IsActivity(e.Kind))
                Notify(conversation, e, output, stanzas, onlyTo: rejoin ? e.SenderBareJid : null);
            else if (conversation.JustIdentified is { } identified)
                Notify(conversation, e, output, stanzas, onlyTo: identified); // their join came before anyone could name them
        }
        Prune();
        return (output, stanzas);
    }

    /// <summary>What counts as activity: a message, a join, or the start of another communication mode
    /// (a call, a file transfer, an invitation), since the notice says those are logged too.</summary>
    private static bool IsActivity(EventKind kind) => kind is EventKind.Message or EventKind.Joined or EventKind.CallInitiated
        or EventKind.FileOffered or EventKind.FileShared or EventKind.Invitation;

    /// <summary>Tells the participants owed a text they were not told within the interval; <paramref name="onlyTo"/> set
    /// (a rejoin, that is a reconnect) tells only the rejoiner, never the whole room again.</summary>
    private void Notify(ConversationState conversation, ConversationEvent trigger, List<ConversationEvent> output, List<XElement> stanzas, string? onlyTo)
    {
        var now = _time.GetTimestamp();
        var recipientsByText = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var participants = conversation.Participants.Order(StringComparer.Ordinal).ToList();
        // Once per round, not per participant: a room of 200 would otherwise cost 200 x 200 look-ups per message.
        var organizations = conversation.LoggedUsers.Concat(participants).Distinct(StringComparer.Ordinal)
            .Select(_organizationOf).OfType<OrganizationConfig>().Distinct().ToList();
        var textsByDomain = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var participant in participants)
        {
            if (onlyTo != null && !string.Equals(participant, onlyTo, StringComparison.Ordinal)) continue;
            var domain = participant[(participant.IndexOf('@') + 1)..];
            if (!textsByDomain.TryGetValue(domain, out var texts)) textsByDomain[domain] = texts = TextsOwed(organizations, domain);
            foreach (var text in texts)
            {
                var key = (participant, text);
                if (conversation.LastSent.TryGetValue(key, out var last) && _time.GetElapsedTime(last, now) < Interval) continue;
                // Counts as told in this run at once (one decision per hour); kept in the spool only once it went out
                // (ArchiveNotifier.Outcomes.cs, Sent), so a restart never counts a notice that was not sent.
                conversation.LastSent[key] = now;
                if (!recipientsByText.TryGetValue(text, out var list)) recipientsByText[text] = list = [];
                list.Add(participant);
            }
        }
        foreach (var (text, recipients) in recipientsByText)
        {
            XElement? first = null;
            var shown = new List<string>(recipients.Count);
            var sent = new List<(XElement Stanza, string Address, string Shown, string Participant)>(recipients.Count);
            foreach (var recipient in recipients)
            {
                // A logged user is ours to tell directly; an occupant whose real JID the room hides is told through the room.
                var (address, nick) = _organizationOf(recipient) != null ? (recipient, null) : conversation.AddressOf(recipient);
                shown.Add(nick == null ? recipient : $"{address} ({recipient})");
                var stanza = OutboundStanzas.Notice(_componentJid, address, text);
                stanzas.Add(stanza);
                sent.Add((stanza, address, shown[^1], recipient));
                first ??= stanza;
            }
            var notice = new ConversationEvent
            {
                Id = Guid.NewGuid().ToString("N"),
                ReceivedUtc = trigger.ReceivedUtc,
                Kind = EventKind.Notice,
                Direction = Direction.Outgoing,
                ConversationType = conversation.Type,
                ConversationKey = conversation.Key,
                From = _componentJid,
                To = string.Join(", ", shown),
                Text = text,
                LoggedUsers = conversation.LoggedUsers.Order(StringComparer.Ordinal).ToList(),
                RawXml = StanzaXml.Compact(first!),
                Reason = NoticeOutcome.Decided, // what became of each stanza follows (ArchiveNotifier.Outcomes.cs)
            };
            output.Add(notice);
            foreach (var (stanza, address, shownAs, participant) in sent) Track(stanza, notice, new NoticeRecipient(address, shownAs, participant), text);
        }
    }

    /// <summary>The distinct texts a participant of <paramref name="domain"/> is owed: one per organization of a logged
    /// user in the conversation that notifies participants like them (inside or outside).</summary>
    /// <remarks>The logged users are those the events named plus every participant who is logged: a room
    /// broadcast reaches the component through one logged occupant's copy, which names only that one.</remarks>
    private static List<string> TextsOwed(List<OrganizationConfig> organizations, string domain) =>
        organizations
            .Where(o => o.Owns(domain) ? o.Notifications.NotifyInside : o.Notifications.NotifyOutside)
            .Select(o => o.Notifications.Text)
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>Forgets conversations silent for longer than the interval: their next activity notifies anew anyway.</summary>
    private void Prune()
    {
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_lastPrune, now) < TimeSpan.FromMinutes(1) && _conversations.Count < 100_000) return;
        _lastPrune = now;
        foreach (var (key, c) in _conversations.Where(kv => _time.GetElapsedTime(kv.Value.LastActivity, now) >= Interval).ToList())
            _conversations.Remove(key);
    }
}
