using ImLogger.Spool;
using Microsoft.Extensions.Logging;

namespace ImLogger.Conversations;

/// <summary>
/// Groups events into transcripts: one open transcript per conversation, closed after
/// <c>idleClose</c> without a new event, or at shutdown. Every event is in the spool (durably)
/// before <see cref="Append"/> returns.
/// </summary>
/// <remarks>Thread-safe: the pipeline appends while a timer closes idle conversations. Silence is measured on the
/// monotonic clock (<see cref="TimeProvider.GetTimestamp"/>): a wall clock stepped back a day must not keep a
/// conversation open for a day, nor one stepped forward close them all at once. Wall time is only what the transcript
/// shows (its events' times and when it closed).</remarks>
public sealed partial class ConversationTracker
{
    /// <summary>An open transcript: its last event's wall time (shown) and monotonic timestamp (for the idle rule).</summary>
    private sealed record Open(string TranscriptId, DateTimeOffset LastEventUtc, long LastEventAt, HashSet<string> Endpoints);

    private readonly ITranscriptStore _spool;
    private readonly Func<string, string?> _endpointOf;
    private readonly TimeSpan _idleClose;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Open> _open = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <param name="spool">The transcripts' store (the spool; when it also offers a unit of work, <see cref="InOneWrite"/> uses it).</param>
    /// <param name="endpointOf">The endpoint name for a logged user's bare JID (null if the user is not logged).</param>
    /// <param name="idleClose">How long a conversation may be silent before its transcript is closed.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where decisions are logged.</param>
    public ConversationTracker(ITranscriptStore spool, Func<string, string?> endpointOf, TimeSpan idleClose, TimeProvider time, ILogger<ConversationTracker> logger)
    {
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentNullException.ThrowIfNull(endpointOf);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleClose, TimeSpan.Zero);
        (_spool, _endpointOf, _idleClose, _time, _logger) = (spool, endpointOf, idleClose, time, logger);
    }

    /// <summary>Takes back the transcripts a previous run left open (after a crash), so their
    /// conversations continue in them or close on the idle rule.</summary>
    public int Resume()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var wallNow = _time.GetUtcNow();
            foreach (var t in _spool.OpenTranscripts())
            {
                // Only the wall time survives a restart. A last event "in the future" (the clock was stepped back since)
                // counts as just now, and no silence counts as longer than the idle time: it closes within one idle time.
                var silent = TimeSpan.FromTicks(Math.Clamp((wallNow - t.LastEventUtc).Ticks, 0, _idleClose.Ticks));
                var lastAt = now - (long)(silent.TotalSeconds * _time.TimestampFrequency);
                _open[t.ConversationKey] = new Open(t.Id, t.LastEventUtc, lastAt, t.Deliveries.Select(d => d.Endpoint).ToHashSet(StringComparer.Ordinal));
            }
            return _open.Count;
        }
    }

    /// <summary>Number of conversations with an open transcript.</summary>
    public int OpenCount { get { lock (_lock) return _open.Count; } }

    /// <summary>Appends events (in order) to their conversations' transcripts, in one durable spool write.</summary>
    /// <returns>Ids of transcripts this closed because their conversation had been idle.</returns>
    public IReadOnlyList<string> Append(IReadOnlyList<ConversationEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var closed = new List<string>();
        if (events.Count == 0) return closed;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var batch = new List<SpoolAppend>(events.Count);
            var before = RememberForUndo(); // ConversationTracker.UnitOfWork.cs
            foreach (var e in events)
            {
                before?.Keep(e.ConversationKey);
                var endpoints = EndpointsOf(e);
                if (endpoints.Count == 0)
                {
                    _logger.LogError("Event {Id} in {Key} has no logged user with an endpoint; it is kept under the conversation's existing transcript only", e.Id, e.ConversationKey);
                }
                if (_open.TryGetValue(e.ConversationKey, out var open) && _time.GetElapsedTime(open.LastEventAt, now) >= _idleClose)
                {
                    // Spool what came before, then close: the close must not overtake its events.
                    _spool.Append(batch);
                    batch.Clear();
                    _spool.Close(open.TranscriptId, open.LastEventUtc + _idleClose);
                    closed.Add(open.TranscriptId);
                    _open.Remove(e.ConversationKey);
                    open = null;
                }
                if (open == null)
                {
                    if (endpoints.Count == 0) continue;
                    var header = _spool.OpenTranscript(e.ConversationType, e.ConversationKey, e.ReceivedUtc, endpoints.Order(StringComparer.Ordinal).ToList());
                    open = new Open(header.Id, e.ReceivedUtc, now, endpoints);
                    _logger.LogInformation("Conversation {Key} opened (transcript {Id}, endpoint {Endpoints})", e.ConversationKey, header.Id, string.Join(", ", open.Endpoints));
                    if (ContinuationFor(e, now) is { } continued) batch.Add(new SpoolAppend(header.Id, continued));
                }
                else if (!endpoints.IsSubsetOf(open.Endpoints))
                {
                    _spool.AddEndpoints(open.TranscriptId, endpoints.Except(open.Endpoints).ToList());
                    open.Endpoints.UnionWith(endpoints);
                }
                _open[e.ConversationKey] = open with { LastEventUtc = e.ReceivedUtc, LastEventAt = now };
                batch.Add(new SpoolAppend(open.TranscriptId, e));
            }
            _spool.Append(batch);
        }
        return closed;
    }

    /// <summary>The endpoints of an event's logged users. Per event on the ingest path: no LINQ, one set.</summary>
    private HashSet<string> EndpointsOf(ConversationEvent e)
    {
        var endpoints = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in e.LoggedUsers)
            if (_endpointOf(user) is { } endpoint) endpoints.Add(endpoint);
        return endpoints;
    }

    /// <summary>Closes the transcripts of conversations idle for at least the idle time.</summary>
    /// <returns>Ids of the transcripts closed.</returns>
    public IReadOnlyList<string> CloseIdle()
    {
        var now = _time.GetTimestamp();
        return CloseWhere(o => _time.GetElapsedTime(o.LastEventAt, now) >= _idleClose, o => o.LastEventUtc + _idleClose);
    }

    /// <summary>Closes every open transcript (graceful shutdown), so nothing waits for the next start.</summary>
    public IReadOnlyList<string> CloseAll()
    {
        lock (_lock)
        {
            AppendClosingNote();
            return CloseWhere(_ => true, _ => _time.GetUtcNow());
        }
    }

    private List<string> CloseWhere(Func<Open, bool> due, Func<Open, DateTimeOffset> closedAt)
    {
        var closed = new List<string>();
        lock (_lock)
        {
            foreach (var (key, open) in _open.Where(kv => due(kv.Value)).ToList())
            {
                _spool.Close(open.TranscriptId, closedAt(open));
                _open.Remove(key);
                closed.Add(open.TranscriptId);
                _logger.LogInformation("Conversation {Key} closed (transcript {Id})", key, open.TranscriptId);
            }
        }
        return closed;
    }
}
