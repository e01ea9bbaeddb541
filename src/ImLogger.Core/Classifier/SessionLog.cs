using ImLogger.Conversations;

namespace ImLogger.Classifier;

/// <summary>
/// What the classifier remembers of calls and file transfers between their start and their end, so that
/// an end can say how long the session lasted and repeated copies of one signal (each party's copy, a
/// JMI proceed followed by its Jingle session-accept) are recorded once.
/// </summary>
/// <remarks>
/// Sessions are keyed by conversation and session id (a Jingle sid is unique only per initiator). Memory is
/// bounded: beyond <see cref="MaxSessions"/> the oldest sessions are forgotten, and a session's end then reads
/// as an end without a duration. Sessions found or started since the last <see cref="TakeTouched"/> are handed to the
/// spool (StanzaClassifier.Continuity.cs), so a restart keeps calls in progress.
/// </remarks>
internal sealed partial class SessionLog(int maxSessions = SessionLog.MaxSessions)
{
    /// <summary>Default bound on remembered sessions.</summary>
    public const int MaxSessions = 10_000;

    /// <summary>One call or transfer.</summary>
    public sealed class Session
    {
        public required bool IsFileTransfer { get; init; }
        public CallMedia? Media { get; set; }
        public string? FileName { get; set; }
        public long? FileSize { get; set; }
        public string? FileMediaType { get; set; }
        public DateTimeOffset? InitiatedUtc { get; set; }
        public DateTimeOffset? AcceptedUtc { get; set; }
        public bool Ended { get; set; }
        /// <summary>The id of the iq that offered it (XEP-0096): the answer is an iq result or error with this id.</summary>
        public string? OfferIqId { get; set; }
        /// <summary>Who is in a multi-party call (a meeting or audio conference in a room): it ends when the last one leaves.</summary>
        public HashSet<string> Participants { get; } = new(StringComparer.Ordinal);
        /// <summary>A call to a room (XEP-0482 invite to a group chat or naming a MUJI room): see StanzaClassifier.Meetings.cs.</summary>
        public bool MultiParty { get; set; }

        /// <summary>From acceptance to <paramref name="end"/>; null if the acceptance was not seen (a call that was
        /// never answered has no duration, only its ringing time, which is not what a reader means by it).</summary>
        public TimeSpan? DurationUntil(DateTimeOffset end) =>
            AcceptedUtc is { } start && end >= start ? end - start : null;
    }

    private readonly Dictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _offerIqs = new(StringComparer.Ordinal); // conversation+iq id -> session key
    private readonly Queue<string> _order = new();

    public int Count => _sessions.Count;

    private static string Key(string conversation, string sid) => conversation + "\u0000" + sid;

    public Session? Find(string conversation, string sid)
    {
        var key = Key(conversation, sid);
        var session = _sessions.GetValueOrDefault(key);
        if (session != null) _touched.Add(key); // the caller may change it
        return session;
    }

    /// <summary>The session an iq answer refers to, by the offer's iq id.</summary>
    public (string Sid, Session Session)? FindByOfferIq(string conversation, string iqId)
    {
        if (!_offerIqs.TryGetValue(Key(conversation, iqId), out var key) || !_sessions.TryGetValue(key, out var s)) return null;
        _touched.Add(key);
        return (key[(key.IndexOf('\u0000') + 1)..], s);
    }

    /// <summary>Remembers a new session (replacing a forgotten or ended one with the same id).</summary>
    public Session Start(string conversation, string sid, Session session)
    {
        var key = Key(conversation, sid);
        if (!_sessions.ContainsKey(key)) _order.Enqueue(key);
        _sessions[key] = session;
        _touched.Add(key);
        if (session.OfferIqId != null) _offerIqs[Key(conversation, session.OfferIqId)] = key;
        while (_sessions.Count > maxSessions && _order.TryDequeue(out var oldest))
        {
            _touched.Add(oldest);
            if (_sessions.Remove(oldest, out var gone) && gone.OfferIqId != null)
                _offerIqs.Remove(oldest[..oldest.IndexOf('\u0000')] + "\u0000" + gone.OfferIqId);
        }
        return session;
    }
}
