using System.Xml.Linq;
using ImLogger.Conversations;
using ImLogger.Outbound;

namespace ImLogger.Notifier;

// Notices are true (issue 17): the notice event stored before the send says only that a notice was decided
// (NoticeOutcome.Decided); what happened to each stanza is recorded after, as outcome events that point at it
// (RelatedId): sent (written to the component connection), not sent (with the reason), or bounced by the server (the
// error stanza that came back with the notice's id). The renderers fold them into one line (Sinks/NoticeOutcomes.cs).
public sealed partial class ArchiveNotifier
{
    /// <summary>Notices sent, by stanza id, kept a while for the server's bounce (an error stanza with that id).</summary>
    private readonly Dictionary<string, PendingNotice> _pending = new(StringComparer.Ordinal);

    /// <summary>How long a notice's id is remembered for a bounce: the server answers within seconds; a bounce later than
    /// this is logged and not recorded.</summary>
    public static readonly TimeSpan BounceWindow = TimeSpan.FromMinutes(10);

    /// <summary>Most notice ids remembered at once (a room of thousands told at once stays bounded).</summary>
    private const int MaxPending = 50_000;

    /// <summary>Whom one notice stanza went to: the address written on it (a bare JID, or room@service/nick through the room),
    /// as the transcript shows it, and the participant owed it (their real bare JID: whom the notice hour counts).</summary>
    private sealed record NoticeRecipient(string Address, string Shown, string Participant);

    private sealed record PendingNotice(ConversationEvent Notice, NoticeRecipient To, string Text, long At)
    {
        public bool Outcome { get; set; }
        public string Recipient => To.Address;
        public string Shown => To.Shown;
    }

    private void Track(XElement stanza, ConversationEvent notice, NoticeRecipient to, string text)
    {
        if (_pending.Count >= MaxPending) ForgetOldNotices(force: true);
        _pending[(string)stanza.Attribute("id")!] = new PendingNotice(notice, to, text, _time.GetTimestamp());
    }

    /// <summary>Records what became of the notice stanzas among <paramref name="replies"/> once the ingest loop tried to send
    /// them: one outcome event per notice and outcome, naming its recipients.</summary>
    /// <param name="replies">Each reply and why it did not go out (null: written to the connection).</param>
    /// <returns>The outcome events to store (empty when no reply was a notice).</returns>
    public IReadOnlyList<ConversationEvent> Sent(IReadOnlyList<(XElement Reply, string? Failure)> replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        var groups = new Dictionary<(string NoticeId, string Outcome), (PendingNotice First, List<string> Shown)>();
        foreach (var (reply, failure) in replies)
        {
            if ((string?)reply.Attribute("id") is not { } id || !_pending.TryGetValue(id, out var pending) || pending.Outcome) continue;
            pending.Outcome = true;
            var outcome = failure == null ? NoticeOutcome.Sent : NoticeOutcome.NotSentPrefix + failure;
            if (failure != null) Untold(pending);
            else KeepSent(pending.Notice.ConversationKey, pending.To.Participant, pending.Text); // told: kept across a restart
            var key = (pending.Notice.Id, outcome);
            if (!groups.TryGetValue(key, out var group)) groups[key] = group = (pending, []);
            group.Shown.Add(pending.Shown);
            if (failure != null) _pending.Remove(id); // nothing went out: no bounce can come back
        }
        ForgetOldNotices(force: false);
        return groups.Select(g => OutcomeEvent(g.Value.First.Notice, g.Key.Outcome, string.Join(", ", g.Value.Shown), "")).ToList();
    }

    /// <summary>The server bounced a notice: an error message addressed to the component from the notice's recipient, with
    /// the notice's id. Anything else (another id, another sender) is not a bounce of ours.</summary>
    /// <returns>The outcome event to store, or null when <paramref name="stanza"/> is not such a bounce.</returns>
    public ConversationEvent? Bounced(XElement stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        if (stanza.Name.LocalName != "message" || (string?)stanza.Attribute("type") != "error") return null;
        if ((string?)stanza.Attribute("id") is not { } id || !id.StartsWith(OutboundStanzas.NoticeIdPrefix, StringComparison.Ordinal)) return null;
        if (!_pending.TryGetValue(id, out var pending)) return null;
        // Only the address the notice went to answers for it (the server stamps from on what it bounces).
        if (!string.Equals((string?)stanza.Attribute("from"), pending.Recipient, StringComparison.OrdinalIgnoreCase)) return null;
        _pending.Remove(id);
        // Too late to be the server's answer (it answers within seconds): not recorded, whoever sent it; the participant
        // stays told. The id is forgotten either way, so a second try fares no better.
        if (_time.GetElapsedTime(pending.At) >= BounceWindow) return null;
        Untold(pending);
        return OutcomeEvent(pending.Notice, NoticeOutcome.BouncedPrefix + ErrorCondition(stanza), pending.Shown,
            stanza.ToString(SaveOptions.DisableFormatting)); // the server's answer, kept as evidence
    }

    /// <summary>"cancel/item-not-found", the server's error condition (its type and the defined condition's name; any
    /// text the error carries is left out: it may come from whoever bounced it).</summary>
    internal static string ErrorCondition(XElement stanza)
    {
        var error = stanza.Elements().FirstOrDefault(e => e.Name.LocalName == "error");
        if (error == null) return "error (no condition given)";
        var condition = error.Elements().FirstOrDefault(e => e.Name.NamespaceName == "urn:ietf:params:xml:ns:xmpp-stanzas" && e.Name.LocalName != "text");
        var type = (string?)error.Attribute("type");
        var name = condition?.Name.LocalName ?? "undefined-condition";
        return NoticeOutcome.Safe(type is { Length: > 0 } t ? t + "/" + name : name);
    }

    /// <summary>A participant who was not told may be told at the next activity (then recorded as sent), also after a
    /// restart: whatever the spool kept of them for this text is removed with the next write.</summary>
    private void Untold(PendingNotice pending)
    {
        if (_conversations.TryGetValue(pending.Notice.ConversationKey, out var conversation))
            conversation.LastSent.Remove((pending.To.Participant, pending.Text));
        ForgetSent(pending.Notice.ConversationKey, pending.To.Participant, pending.Text);
    }

    private ConversationEvent OutcomeEvent(ConversationEvent notice, string outcome, string recipients, string rawXml) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = _time.GetUtcNow(),
        Kind = EventKind.Notice,
        Direction = Direction.Outgoing,
        ConversationType = notice.ConversationType,
        ConversationKey = notice.ConversationKey,
        From = _componentJid,
        To = recipients,
        RelatedId = notice.Id,
        Reason = outcome,
        LoggedUsers = notice.LoggedUsers,
        RawXml = rawXml,
    };

    private void ForgetOldNotices(bool force)
    {
        var now = _time.GetTimestamp();
        if (!force && _pending.Count < 1024) return;
        foreach (var (id, p) in _pending.Where(kv => _time.GetElapsedTime(kv.Value.At, now) >= BounceWindow).ToList())
            _pending.Remove(id);
        if (_pending.Count >= MaxPending) // still full of young ones: the oldest go first
            foreach (var id in _pending.OrderBy(kv => kv.Value.At).Take(_pending.Count - MaxPending + 1).Select(kv => kv.Key).ToList())
                _pending.Remove(id);
    }
}
