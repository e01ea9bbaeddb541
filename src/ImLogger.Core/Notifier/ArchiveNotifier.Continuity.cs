using ImLogger.Continuity;

namespace ImLogger.Notifier;

/// <summary>The notice hour across restarts: who was told what in which conversation, and when, is kept in the spool, so a
/// restart of ImLogger tells nobody again what they were told within <see cref="Interval"/>.</summary>
/// <remarks>Kept as wall time (a monotonic timestamp means nothing to the next process) and turned back into monotonic
/// time on restart; a notice that seems to come from the future (the clock was stepped back) counts as just sent, so a
/// clock step can only delay a notice by at most the interval, never repeat one.</remarks>
public sealed partial class ArchiveNotifier
{
    /// <summary>Record kind of a notice sent.</summary>
    internal const string NoticeRecord = "notice";

    /// <summary>Record kind of a room occupant (whom a room's notices go to).</summary>
    internal const string OccupantRecord = "occupant";

    /// <summary>How long a room occupant not heard from (no presence, no message) is kept across restarts.</summary>
    public static readonly TimeSpan OccupantKeptFor = TimeSpan.FromDays(1);

    /// <summary>Room occupants kept by the previous run, by room, until the room is next seen.</summary>
    private readonly Dictionary<string, List<(string Nick, string RealJid, bool Hidden)>> _keptOccupants = new(StringComparer.Ordinal);

    private ContinuityLog? _continuity;

    /// <summary>Where notices sent (and, through the same log, calls in progress) are kept; null when not kept.</summary>
    public ContinuityLog? Continuity => _continuity;

    /// <summary>Notices kept by the previous run, by conversation, until the conversation is next seen.</summary>
    private readonly Dictionary<string, List<(string Participant, string Text, DateTimeOffset AtUtc)>> _kept = new(StringComparer.Ordinal);

    private long _lastForget;

    /// <summary>When each occupant's record was last written (monotonic), by record id.</summary>
    private readonly Dictionary<string, long> _occupantKeptAt = new(StringComparer.Ordinal);

    /// <summary>Puts back the notices the previous run sent within the interval and from now on keeps every notice that went
    /// out in <paramref name="log"/> (written with the stored outcome of the send; a bounce removes it again).</summary>
    /// <returns>How many notices were put back.</returns>
    public int UseContinuity(ContinuityLog log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var nowUtc = _time.GetUtcNow();
        log.Forget(NoticeRecord, nowUtc - Interval);
        log.Forget(OccupantRecord, nowUtc - OccupantKeptFor);
        var restored = 0;
        foreach (var r in log.Loaded.Where(r => r.Kind == OccupantRecord))
        {
            if (r.Fields.GetValueOrDefault("room") is not { Length: > 0 } room || r.Fields.GetValueOrDefault("nick") is not { Length: > 0 } nick
                || r.Fields.GetValueOrDefault("jid") is not { Length: > 0 } jid) continue;
            if (!_keptOccupants.TryGetValue(room, out var occupants)) _keptOccupants[room] = occupants = [];
            occupants.Add((nick, jid, r.Fields.GetValueOrDefault("hidden") == "1"));
            restored++;
        }
        foreach (var r in log.Loaded.Where(r => r.Kind == NoticeRecord))
        {
            if (r.Fields.GetValueOrDefault("conversation") is not { Length: > 0 } conversation
                || r.Fields.GetValueOrDefault("participant") is not { Length: > 0 } participant
                || r.Fields.GetValueOrDefault("text") is not { } text) continue;
            if (!_kept.TryGetValue(conversation, out var list)) _kept[conversation] = list = [];
            list.Add((participant, text, r.AtUtc));
            restored++;
        }
        _continuity = log;
        _lastForget = _time.GetTimestamp();
        // Records are replaced per person and text; those of conversations gone quiet are removed now and then.
        log.BeforeFlush(() =>
        {
            if (_time.GetElapsedTime(_lastForget) < Interval) return;
            _lastForget = _time.GetTimestamp();
            log.Forget(NoticeRecord, _time.GetUtcNow() - Interval);
            log.Forget(OccupantRecord, _time.GetUtcNow() - OccupantKeptFor);
        });
        return restored;
    }

    /// <summary>A conversation seen for the first time since start (or since it went quiet): what the previous run told
    /// its participants within the interval still counts.</summary>
    private void RestoreKept(ConversationState conversation)
    {
        if (_keptOccupants.Count > 0 && _keptOccupants.Remove(conversation.Key, out var occupants))
            foreach (var (nick, jid, hidden) in occupants) conversation.RestoreOccupant(nick, jid, hidden);
        if (_kept.Count == 0 || !_kept.Remove(conversation.Key, out var notices)) return;
        var now = _time.GetTimestamp();
        var nowUtc = _time.GetUtcNow();
        foreach (var (participant, text, atUtc) in notices)
        {
            var age = nowUtc - atUtc;
            if (age < TimeSpan.Zero) age = TimeSpan.Zero;
            if (age >= Interval) continue;
            conversation.LastSent[(participant, text)] = now - (long)(age.TotalSeconds * _time.TimestampFrequency);
        }
    }

    /// <summary>Keeps a notice that went out (its outcome is Sent), with the spool write that stores that outcome: a notice
    /// decided but not sent (connection down, a crash before the send) is never kept as told.</summary>
    private void KeepSent(string conversationKey, string participant, string text) =>
        _continuity?.Put(new ContinuityRecord(NoticeRecordId(conversationKey, participant, text),
            NoticeRecord, _time.GetUtcNow(), new Dictionary<string, string?>
            {
                ["conversation"] = conversationKey, ["participant"] = participant, ["text"] = text,
            }));

    /// <summary>A notice kept as sent was bounced by the server: a restart must not count it as told.</summary>
    private void ForgetSent(string conversationKey, string participant, string text) =>
        _continuity?.Remove(NoticeRecordId(conversationKey, participant, text));

    private static string NoticeRecordId(string conversationKey, string participant, string text) =>
        ContinuityLog.IdOf(NoticeRecord, conversationKey + "\u0000" + participant + "\u0000" + text);

    /// <summary>Keeps a room's roster as the notifier knows it (whom its notices go to): an occupant heard from (joined,
    /// present, spoke) is kept, with the time refreshed; one who left is removed.</summary>
    private void KeepOccupant(ConversationState conversation, ConversationEvent e)
    {
        if (_continuity == null || conversation.Type != ConversationType.GroupChat || e.Nick == null) return;
        var id = ContinuityLog.IdOf(OccupantRecord, conversation.Key + "\u0000" + e.Nick);
        switch (e.Kind)
        {
            case EventKind.Left:
                _continuity.Remove(id);
                _occupantKeptAt.Remove(id);
                break;
            case EventKind.Joined or EventKind.Present or EventKind.Message when e.SenderBareJid != null:
                // A message refreshes the record at most hourly: a busy room must not cost a spool write per message.
                var now = _time.GetTimestamp();
                if (e.Kind == EventKind.Message && _occupantKeptAt.TryGetValue(id, out var kept) && _time.GetElapsedTime(kept, now) < Interval) break;
                if (_occupantKeptAt.Count >= 100_000) _occupantKeptAt.Clear();
                _occupantKeptAt[id] = now;
                _continuity.Put(new ContinuityRecord(id, OccupantRecord, _time.GetUtcNow(), new Dictionary<string, string?>
                {
                    ["room"] = conversation.Key, ["nick"] = e.Nick, ["jid"] = e.SenderBareJid, ["hidden"] = conversation.IsHidden(e.Nick) ? "1" : "0",
                }));
                break;
        }
    }

    /// <summary>The hour starts over for a conversation: its kept notices no longer count either.</summary>
    private void ForgetKept(ConversationState conversation)
    {
        if (_continuity == null) return;
        foreach (var (participant, text) in conversation.LastSent.Keys)
            _continuity.Remove(NoticeRecordId(conversation.Key, participant, text));
    }
}
