namespace ImLogger.Classifier;

internal sealed partial class SessionLog
{
    /// <summary>The multi-party calls in progress in <paramref name="conversation"/> (a room) that count any of
    /// <paramref name="who"/> among their participants (marked as touched: the caller removes them).</summary>
    /// <remarks>Walks every remembered session (at most <see cref="MaxSessions"/>): called on a room leave, which is rare
    /// beside messages.</remarks>
    public List<(string Sid, Session Session)> CallsWith(string conversation, IReadOnlyCollection<string> who)
    {
        var prefix = conversation + "\u0000";
        var found = new List<(string, Session)>();
        foreach (var (key, session) in _sessions)
        {
            if (!session.MultiParty || session.Ended || !key.StartsWith(prefix, StringComparison.Ordinal)
                || !who.Any(session.Participants.Contains)) continue;
            _touched.Add(key);
            found.Add((key[prefix.Length..], session));
        }
        return found;
    }
}
