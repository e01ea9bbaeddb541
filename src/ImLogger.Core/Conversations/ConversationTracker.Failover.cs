using System.Xml.Linq;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;

namespace ImLogger.Conversations;

/// <summary>A line a transcript carries where a failover split its conversation (docs/failover.md): recorded as a
/// <see cref="EventKind.Notice"/> from <paramref name="From"/> (the component), so every endpoint shows it in place.</summary>
/// <param name="From">The component's JID, shown as the notice's sender.</param>
/// <param name="Text">What happened, with the instance and the time.</param>
public sealed record SplitNote(string From, string Text);

/// <summary>
/// Failover: two instances each keep their own spool, so a conversation that goes on across a failover becomes one
/// transcript at each. Each part says so: the part the old active instance closes ends with "continued at another
/// instance", the part the new one opens starts with "continued from".
/// </summary>
public sealed partial class ConversationTracker
{
    private (SplitNote Note, long Until)? _continuation;
    private SplitNote? _closingNote;

    /// <summary>This instance just took the component over: the transcripts it opens within <paramref name="window"/>
    /// (the idle time: a conversation silent longer was closed at the other instance anyway) start with
    /// <paramref name="note"/>, as they may continue a conversation the other instance archived the start of.</summary>
    public void ContinuingFrom(SplitNote note, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(note);
        lock (_lock) _continuation = (note, _time.GetTimestamp() + (long)(window.TotalSeconds * _time.TimestampFrequency));
    }

    /// <summary>Set by a failover pair: the transcripts <see cref="CloseAll"/> closes at a graceful stop end with this note,
    /// since the standby takes the conversations over.</summary>
    public SplitNote? ClosingNote
    {
        get { lock (_lock) return _closingNote; }
        set { lock (_lock) _closingNote = value; }
    }

    /// <summary>Another instance holds the component now: the conversations open here go on there, so their transcripts
    /// end now with <paramref name="note"/> and are delivered.</summary>
    /// <returns>Ids of the transcripts closed.</returns>
    public IReadOnlyList<string> CloseForFailover(SplitNote note)
    {
        ArgumentNullException.ThrowIfNull(note);
        // One hold of the (re-entrant) lock: no event may land between the note and the close.
        lock (_lock)
        {
            if (_open.Count == 0) return [];
            var now = _time.GetUtcNow();
            _spool.Append(_open.Select(kv => new SpoolAppend(kv.Value.TranscriptId, NoteEvent(note, kv.Key, now, []))).ToList());
            return CloseWhere(_ => true, _ => now);
        }
    }

    /// <summary>The closing note, for <see cref="CloseAll"/>: appended to every open transcript before it closes.</summary>
    private void AppendClosingNote()
    {
        lock (_lock)
        {
            if (_closingNote is not { } note || _open.Count == 0) return;
            var now = _time.GetUtcNow();
            _spool.Append(_open.Select(kv => new SpoolAppend(kv.Value.TranscriptId, NoteEvent(note, kv.Key, now, []))).ToList());
        }
    }

    /// <summary>The continuation note for a transcript being opened for <paramref name="first"/>, while the window lasts.</summary>
    private ConversationEvent? ContinuationFor(ConversationEvent first, long now)
    {
        if (_continuation is not { } c) return null;
        if (now >= c.Until)
        {
            _continuation = null;
            return null;
        }
        _logger.LogInformation("Conversation {Key} may continue one archived by the instance active before the failover; its transcript says so", first.ConversationKey);
        return NoteEvent(c.Note, first.ConversationKey, first.ReceivedUtc, first.LoggedUsers) with { ConversationType = first.ConversationType };
    }

    private static ConversationEvent NoteEvent(SplitNote note, string key, DateTimeOffset at, IReadOnlyList<string> loggedUsers) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = at,
        Kind = EventKind.Notice,
        Direction = Direction.Outgoing,
        ConversationType = key.Contains(' ', StringComparison.Ordinal) ? ConversationType.OneToOne : ConversationType.GroupChat,
        ConversationKey = key,
        From = note.From,
        To = "",
        Text = note.Text,
        LoggedUsers = loggedUsers,
        RawXml = new XElement("failover", new XAttribute("from", note.From), note.Text).ToString(SaveOptions.DisableFormatting),
    };
}
