using ImLogger.Continuity;
using System.Globalization;
using ImLogger.Conversations;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Record kind of a call or transfer in progress.</summary>
    internal const string CallRecord = "call";

    /// <summary>How long a call in progress is kept across restarts: one that never ended (its end was never seen) is
    /// forgotten after this, and an end later than this after its start has no duration.</summary>
    public static readonly TimeSpan CallKeptFor = TimeSpan.FromDays(1);

    /// <summary>
    /// Keeps calls and transfers in progress, and the rooms' rosters, in the spool: puts back those kept by the previous run (an end after a
    /// restart then has its start, so its duration), and from now on hands every started, changed or ended one to
    /// <paramref name="log"/>, which writes them after each batch.
    /// </summary>
    /// <returns>How many calls and transfers in progress, and rooms, were put back.</returns>
    public int UseContinuity(ContinuityLog log, DateTimeOffset nowUtc)
    {
        ArgumentNullException.ThrowIfNull(log);
        log.Forget(CallRecord, nowUtc - CallKeptFor);
        var restored = _rooms.UseContinuity(log, nowUtc); // RoomRoster.Continuity.cs: who is in which room
        foreach (var r in log.Loaded.Where(r => r.Kind == CallRecord))
        {
            if (ToSession(r) is not var (conversation, sid, session)) continue;
            _sessions.Restore(conversation, sid, session);
            restored++;
        }
        // What each kept call looked like when written: Jingle negotiation (candidates, ringing) finds a session without
        // changing it, and must not cost a spool write.
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        log.BeforeFlush(() =>
        {
            foreach (var (conversation, sid, session) in _sessions.TakeTouched())
            {
                var id = ContinuityLog.IdOf(CallRecord, conversation + "\u0000" + sid);
                if (session is null or { Ended: true })
                {
                    if (written.Remove(id) || session == null || session.InitiatedUtc != null || session.AcceptedUtc != null) log.Remove(id);
                    continue;
                }
                var record = ToRecord(id, conversation, sid, session, nowUtc);
                var signature = string.Join('\u0001', record.Fields.Select(f => f.Key + "=" + f.Value));
                if (written.TryGetValue(id, out var before) && before == signature) continue;
                written[id] = signature;
                log.Put(record);
            }
        });
        return restored;
    }

    private static ContinuityRecord ToRecord(string id, string conversation, string sid, SessionLog.Session s, DateTimeOffset fallbackUtc) =>
        new(id, CallRecord, s.InitiatedUtc ?? s.AcceptedUtc ?? fallbackUtc, new Dictionary<string, string?>
        {
            ["conversation"] = conversation,
            ["sid"] = sid,
            ["file"] = s.IsFileTransfer ? "1" : "0",
            ["multi"] = s.MultiParty ? "1" : "0",
            ["media"] = s.Media?.ToString(),
            ["initiated"] = s.InitiatedUtc?.ToString("O", CultureInfo.InvariantCulture),
            ["accepted"] = s.AcceptedUtc?.ToString("O", CultureInfo.InvariantCulture),
            ["fileName"] = s.FileName,
            ["fileSize"] = s.FileSize?.ToString(CultureInfo.InvariantCulture),
            ["fileType"] = s.FileMediaType,
            ["offerIq"] = s.OfferIqId,
            ["participants"] = s.Participants.Count == 0 ? null : string.Join('\n', s.Participants.Order(StringComparer.Ordinal)),
        });

    /// <summary>A kept record back as a session; null when it is not readable (written by another version, damaged):
    /// such a call's end then has no duration, as before.</summary>
    private static (string, string, SessionLog.Session)? ToSession(ContinuityRecord r)
    {
        string? F(string name) => r.Fields.GetValueOrDefault(name);
        if (F("conversation") is not { Length: > 0 } conversation || F("sid") is not { Length: > 0 } sid) return null;
        DateTimeOffset? Time(string name) =>
            DateTimeOffset.TryParse(F(name), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;
        var session = new SessionLog.Session
        {
            IsFileTransfer = F("file") == "1",
            Media = Enum.TryParse<CallMedia>(F("media"), out var m) ? m : null,
            InitiatedUtc = Time("initiated"),
            AcceptedUtc = Time("accepted"),
            FileName = F("fileName"),
            FileSize = long.TryParse(F("fileSize"), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null,
            FileMediaType = F("fileType"),
            OfferIqId = F("offerIq"),
            MultiParty = F("multi") == "1",
        };
        foreach (var p in (F("participants") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)) session.Participants.Add(p);
        return (conversation, sid, session);
    }
}
