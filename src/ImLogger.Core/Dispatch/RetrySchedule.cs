using ImLogger.Spool;

namespace ImLogger.Dispatch;

/// <summary>
/// Keeps the spool's retry times honest when the wall clock is stepped (NTP correcting a clock that ran a day fast or
/// slow). The spool stores each next attempt as wall time, for people (<c>spool status</c>) and for the next start; this
/// process also remembers each retry it scheduled on the monotonic clock (<see cref="TimeProvider.GetTimestamp"/>),
/// which no step moves, and that decides:
/// <list type="bullet">
/// <item>a clock stepped forward makes the spool call everything due: a retry this process scheduled still waits its
/// delay;</item>
/// <item>a clock stepped back makes the spool call nothing due for a day: the spool is asked with the time the wall
/// clock would show without the step, and each retry is still held to its own delay;</item>
/// <item>after a restart only the wall times remain: a next attempt further away than the longest retry delay (plus
/// <see cref="Slack"/>) was scheduled by a clock that ran fast, and is due at once.</item>
/// </list>
/// </summary>
/// <remarks>Thread-safe: every endpoint's loop asks it.</remarks>
internal sealed class RetrySchedule(TimeProvider time, TimeSpan maxRetryDelay, bool retryWaitingAtStart = false)
{
    /// <summary>Tolerance beyond the longest retry delay before a stored next attempt counts as written by a fast clock.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    /// <summary>This process's retries: when each is due on the monotonic clock, and the wall time stored in the spool.</summary>
    private readonly Dictionary<(string TranscriptId, string Endpoint), (long Monotonic, DateTimeOffset Stored)> _dueAt = [];
    /// <summary>Endpoints whose far-future check is done: the last read found fewer than it asked for.</summary>
    private readonly HashSet<string> _startChecked = new(StringComparer.Ordinal);
    /// <summary>Endpoints that failed since the start: waiting deliveries keep their slots (see <see cref="EndStartSweep"/>).</summary>
    private readonly HashSet<string> _sweepEnded = new(StringComparer.Ordinal);
    /// <summary>Endpoints whose waiting deliveries the operator asked to try now (<see cref="RetryWaitingNow"/>): swept as
    /// at a start, also when the start did not sweep.</summary>
    private readonly HashSet<string> _sweepRequested = new(StringComparer.Ordinal);

    /// <summary>Found at start with a next attempt beyond reason, until attempted: the spool's query cannot return them.</summary>
    private readonly Dictionary<(string TranscriptId, string Endpoint), TranscriptHeader> _overdue = [];
    private DateTimeOffset _wallAt = time.GetUtcNow();
    private long _monotonicAt = time.GetTimestamp();

    /// <summary>Schedules the next attempt <paramref name="delay"/> from now.</summary>
    /// <returns>The wall time to store in the spool and show.</returns>
    public DateTimeOffset Schedule(string transcriptId, string endpoint, TimeSpan delay)
    {
        lock (_lock)
        {
            _overdue.Remove((transcriptId, endpoint));
            var stored = time.GetUtcNow() + delay;
            _dueAt[(transcriptId, endpoint)] = (time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency), stored);
            return stored;
        }
    }

    /// <summary>The endpoint failed: what the start found waiting keeps its stored slot (the endpoint is still down), so a
    /// backlog is not tried one by one against it.</summary>
    /// <remarks>Retries pushed beyond reason by a fast clock stay due at once (they would otherwise wait for days).</remarks>
    public void EndStartSweep(string endpoint)
    {
        lock (_lock)
        {
            if (!Sweeps(endpoint)) return;
            _sweepEnded.Add(endpoint);
            var reasonable = SpoolTime() + maxRetryDelay + Slack;
            foreach (var (key, header) in _overdue.Where(kv => kv.Key.Endpoint == endpoint).ToList())
                if (header.Deliveries.Any(d => d.Endpoint == endpoint && d.NextAttemptUtc <= reasonable)) _overdue.Remove(key);
        }
    }

    /// <summary>The operator fixed the endpoint and asked to try its waiting deliveries now (<c>imlogger spool retry</c>
    /// while the service runs): the same sweep as a start's, without the restart. Every waiting delivery is due at once,
    /// also the retries this process scheduled; the endpoint's first failure puts the rest back on their slots
    /// (<see cref="EndStartSweep"/>), so a still broken endpoint is not tried once per waiting transcript.</summary>
    public void RetryWaitingNow(string endpoint)
    {
        lock (_lock)
        {
            _sweepRequested.Add(endpoint);
            _sweepEnded.Remove(endpoint);
            _startChecked.Remove(endpoint);
            foreach (var key in _dueAt.Keys.Where(k => k.Endpoint == endpoint).ToList()) _dueAt.Remove(key);
        }
    }

    /// <summary>Whether the endpoint's waiting deliveries are all due (a start's sweep or the operator's, not yet ended by a
    /// failure). Called under the lock.</summary>
    private bool Sweeps(string endpoint) => (retryWaitingAtStart || _sweepRequested.Contains(endpoint)) && !_sweepEnded.Contains(endpoint);

    /// <summary>The delivery is done (delivered, dead or gone): nothing more to wait for.</summary>
    public void Forget(string transcriptId, string endpoint)
    {
        lock (_lock)
        {
            _dueAt.Remove((transcriptId, endpoint));
            _overdue.Remove((transcriptId, endpoint));
        }
    }

    /// <summary>The transcripts of <paramref name="endpoint"/> due now, oldest first, at most <paramref name="max"/> of
    /// the spool's plus, on the endpoint's first pass, those whose stored next attempt is beyond reason.</summary>
    public List<TranscriptHeader> Due(IDeliveryQueue spool, string endpoint, int max)
    {
        var found = StartCheckDone(endpoint) ? [] : FarFuture(spool, endpoint, max);
        long now;
        DateTimeOffset asOf;
        int waiting;
        List<TranscriptHeader> due;
        lock (_lock)
        {
            foreach (var header in found) _overdue[(header.Id, endpoint)] = header;
            due = _overdue.Where(kv => kv.Key.Endpoint == endpoint).Select(kv => kv.Value)
                .OrderBy(h => h.ClosedUtc).ThenBy(h => h.OpenedUtc).ThenBy(h => h.Id, StringComparer.Ordinal).Take(max).ToList();
            now = time.GetTimestamp();
            asOf = SpoolTime();
            // Retries still waiting that the spool would call due (the wall clock ran ahead of the monotonic one) take places
            // in its answer and are skipped: ask for that many more. Only those: the others are not in its answer, and asking
            // for every waiting retry read that many more headers under the spool's gate at every pass of a dead endpoint.
            waiting = _dueAt.Count(kv => kv.Key.Endpoint == endpoint && kv.Value.Monotonic > now && kv.Value.Stored <= asOf);
        }
        foreach (var header in spool.DueForDelivery(endpoint, asOf, max + waiting))
        {
            if (due.Any(h => h.Id == header.Id) || !IsDue(header.Id, endpoint, now)) continue;
            due.Add(header);
        }
        return due;
    }

    private bool IsDue(string transcriptId, string endpoint, long now)
    {
        lock (_lock) return !_dueAt.TryGetValue((transcriptId, endpoint), out var at) || at.Monotonic <= now;
    }

    /// <summary>The wall clock, or after it was stepped back, the time it would show without the step: retries stored
    /// before the step are not held back by it (those scheduled after it wait on the monotonic clock anyway).</summary>
    private DateTimeOffset SpoolTime()
    {
        var wall = time.GetUtcNow();
        var ts = time.GetTimestamp();
        var unstepped = _wallAt + time.GetElapsedTime(_monotonicAt, ts);
        if (wall < unstepped) return unstepped;
        (_wallAt, _monotonicAt) = (wall, ts);
        return wall;
    }

    private bool StartCheckDone(string endpoint)
    {
        lock (_lock) return _startChecked.Contains(endpoint);
    }

    /// <summary>Pending deliveries whose next attempt lies further ahead than any retry delay: scheduled by a clock that ran
    /// fast (and was corrected while ImLogger was down), or under a longer delay than now configured. Due at once.</summary>
    /// <remarks>One index range of the spool's queue, at most <paramref name="max"/> at a time (a whole backlog may be
    /// affected); asked again on the endpoint's next passes until a read comes back short. Those found are kept until
    /// attempted (<see cref="Schedule"/> moves them back within reach), so a later read finds the next ones. The limit is
    /// measured from the unstepped clock, so a clock stepped back meanwhile does not make this process's own retries
    /// look far.</remarks>
    private List<TranscriptHeader> FarFuture(IDeliveryQueue spool, string endpoint, int max)
    {
        DateTimeOffset limit;
        int known;
        lock (_lock)
        {
            // After a restart the operator has usually fixed what failed: every waiting delivery is tried now, not at the
            // slot an earlier process gave it (retryWaitingAtStart); the first failure ends that (EndStartSweep).
            limit = Sweeps(endpoint) ? SpoolTime() : SpoolTime() + maxRetryDelay + Slack;
            known = _overdue.Keys.Count(k => k.Endpoint == endpoint);
        }
        var found = spool.ScheduledAfter(endpoint, limit, max + known)
            .Where(h => h.Deliveries.Any(d => d.Endpoint == endpoint && d.State == DeliveryState.Pending && d.NextAttemptUtc > limit))
            .ToList();
        lock (_lock) found.RemoveAll(h => _dueAt.ContainsKey((h.Id, endpoint))); // this process's own retries wait their delay
        if (found.Count < max + known)
            lock (_lock) _startChecked.Add(endpoint);
        return found;
    }
}
