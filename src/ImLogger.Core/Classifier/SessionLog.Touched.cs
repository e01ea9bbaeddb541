namespace ImLogger.Classifier;

internal sealed partial class SessionLog
{
    /// <summary>Keys of sessions found, started or forgotten since the last <see cref="TakeTouched"/>.</summary>
    private readonly HashSet<string> _touched = new(StringComparer.Ordinal);

    /// <summary>The sessions that may have changed since the last call: (conversation, sid, the session or null when it is
    /// gone), and forgets the list.</summary>
    public List<(string Conversation, string Sid, Session? Session)> TakeTouched()
    {
        var list = new List<(string, string, Session?)>(_touched.Count);
        foreach (var key in _touched)
        {
            var cut = key.IndexOf('\u0000');
            list.Add((key[..cut], key[(cut + 1)..], _sessions.GetValueOrDefault(key)));
        }
        _touched.Clear();
        return list;
    }

    /// <summary>Puts back a session kept from the previous run (not marked as touched: it is already kept).</summary>
    public void Restore(string conversation, string sid, Session session)
    {
        Start(conversation, sid, session);
        _touched.Remove(Key(conversation, sid));
    }
}
