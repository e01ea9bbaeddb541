using LiteDB;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>The delivery queue (<see cref="SpoolDocuments.QueueCollection"/>): what is due, and the backlog's counts,
/// from index ranges and counters, so their cost does not grow with the number of transcripts waiting.</summary>
public sealed partial class LiteDbSpool
{
    /// <summary>Transcript headers read per slice of <see cref="Undelivered"/>: the lock ingest needs is held for one slice
    /// at a time (a few milliseconds), not for the whole backlog.</summary>
    private const int UndeliveredSlice = 256;

    // Looked up on each use rather than kept in fields: the database is replaced when it is reopened after a failed write.
    private ILiteCollection<BsonDocument> Queue => _db.GetCollection(QueueCollection);
    private ILiteCollection<BsonDocument> QueueCounts => _db.GetCollection(QueueCountsCollection);
    private ILiteCollection<BsonDocument> QueueTotals => _db.GetCollection(QueueTotalsCollection);

    /// <summary>Creates the queue's indexes and, unless the last writer kept the queue (<see cref="QueueKeptByLastWriter"/>),
    /// makes the queue agree with the transcript headers, which stay the record of each delivery: a spool written by a
    /// version without the queue gets one, and one written meanwhile by an older version (which changes headers only) is
    /// corrected. That check reads every header (about 11 s at 100,000 transcripts), so it runs only then.</summary>
    private void EnsureQueue()
    {
        Queue.EnsureIndex(Q_Due);
        Queue.EnsureIndex(Q_Oldest);
        Queue.EnsureIndex(Q_Copy);
        if (_queueKept) return;
        RebuildQueue();
        _queueKept = true;
        StampQueueKept();
    }

    /// <summary>Reads every header and writes what differs in the queue and its counters.</summary>
    private void RebuildQueue()
    {
        var expected = new Dictionary<string, BsonDocument>(StringComparer.Ordinal);
        var counts = new Dictionary<string, (string Endpoint, int Pending, int Dead)>(StringComparer.Ordinal);
        var transcripts = 0;
        foreach (var doc in _transcripts.Find(Query.Not(F_State, nameof(TranscriptState.Open))))
        {
            if (HeaderProblem(doc) is not null) continue; // quarantined where it is read, never queued
            transcripts++;
            var id = doc[F_Id].AsString;
            var closed = doc[F_Closed].IsNull ? doc[F_LastEvent].AsInt64 : doc[F_Closed].AsInt64;
            foreach (var d in doc[F_Deliveries].AsArray)
            {
                var delivery = ToDelivery(d.AsDocument);
                var entry = ToQueueEntry(id, closed, delivery);
                expected[entry[F_Id].AsString] = entry;
                var key = EndpointKey(delivery.Endpoint);
                var (_, p, n) = counts.GetValueOrDefault(key, (delivery.Endpoint, 0, 0));
                counts[key] = delivery.State == DeliveryState.Dead ? (delivery.Endpoint, p, n + 1) : (delivery.Endpoint, p + 1, n);
            }
        }
        var stale = new List<BsonValue>();
        foreach (var entry in Queue.FindAll())
        {
            var id = entry[F_Id].AsString;
            if (expected.TryGetValue(id, out var want) && QueueStateOf(want) == QueueStateOf(entry) && want[Q_Due] == entry[Q_Due]
                && want[Q_Copy] == entry[Q_Copy]) expected.Remove(id);
            else stale.Add(entry[F_Id]);
        }
        var stored = QueueCounts.FindAll().ToList();
        var countsAgree = stored.Count == counts.Count && stored.All(c =>
            counts.TryGetValue(c[F_Id].AsString, out var n) && n.Pending == c[C_Pending].AsInt32 && n.Dead == c[C_Dead].AsInt32);
        var totalAgrees = QueueTotals.FindById(T_Transcripts)?[T_Count] is { IsInt32: true } total && total.AsInt32 == transcripts;
        if (stale.Count == 0 && expected.Count == 0 && countsAgree && totalAgrees) return;

        Write(() =>
        {
            var queue = Queue;
            foreach (var id in stale) queue.Delete(id);
            queue.InsertBulk(expected.Values);
            QueueTotals.Upsert(new BsonDocument { [F_Id] = T_Transcripts, [T_Count] = transcripts });
            QueueCounts.DeleteAll();
            foreach (var (key, (endpoint, p, n)) in counts)
                QueueCounts.Insert(new BsonDocument { [F_Id] = key, [C_Endpoint] = endpoint, [C_Pending] = p, [C_Dead] = n });
        });
        _logger.LogInformation(
            "spool {Path}: delivery queue brought up to date with the transcripts ({Added} delivery(ies) added or corrected, {Removed} removed)",
            _path, expected.Count, stale.Count);
    }

    /// <summary>Adds a closing transcript's deliveries to the queue (inside the Close transaction).</summary>
    private void Enqueue(BsonDocument header)
    {
        var id = header[F_Id].AsString;
        var closed = header[F_Closed].AsInt64;
        CountTranscripts(1);
        foreach (var d in header[F_Deliveries].AsArray)
        {
            var delivery = ToDelivery(d.AsDocument);
            Queue.Upsert(ToQueueEntry(id, closed, delivery));
            Count(delivery.Endpoint, delivery.State == DeliveryState.Dead ? 0 : 1, delivery.State == DeliveryState.Dead ? 1 : 0);
        }
    }

    /// <summary>Records a failed attempt in the queue (inside the RecordFailure transaction).</summary>
    private void QueueFailure(string transcriptId, string endpoint, int attempts, DateTimeOffset? nextAttemptUtc, string error, bool dead)
    {
        var entry = Queue.FindById(QueueId(transcriptId, endpoint));
        if (entry is null) return; // still open (a failure recorded before close has nothing queued yet)
        var wasDead = entry[Q_State].AsString == nameof(DeliveryState.Dead);
        SetQueueState(entry, dead ? DeliveryState.Dead : DeliveryState.Pending, attempts, dead ? null : nextAttemptUtc?.UtcTicks, error);
        Queue.Update(entry);
        if (dead != wasDead) Count(endpoint, dead ? -1 : 1, dead ? 1 : -1);
    }

    /// <summary>Removes a delivered entry (inside the MarkDelivered transaction).</summary>
    private void Dequeue(string transcriptId, string endpoint, bool lastOne)
    {
        if (lastOne) CountTranscripts(-1);
        var entry = Queue.FindById(QueueId(transcriptId, endpoint));
        if (entry is null) return;
        Queue.Delete(entry[F_Id]);
        var dead = entry[Q_State].AsString == nameof(DeliveryState.Dead);
        Count(endpoint, dead ? 0 : -1, dead ? -1 : 0);
    }

    private void CountTranscripts(int change)
    {
        var total = QueueTotals.FindById(T_Transcripts) ?? new BsonDocument { [F_Id] = T_Transcripts, [T_Count] = 0 };
        total[T_Count] = total[T_Count].AsInt32 + change;
        QueueTotals.Upsert(total);
    }

    private void Count(string endpoint, int pending, int dead)
    {
        var key = EndpointKey(endpoint);
        var counter = QueueCounts.FindById(key) ?? new BsonDocument { [F_Id] = key, [C_Endpoint] = endpoint, [C_Pending] = 0, [C_Dead] = 0 };
        counter[C_Pending] = counter[C_Pending].AsInt32 + pending;
        counter[C_Dead] = counter[C_Dead].AsInt32 + dead;
        if (counter[C_Pending].AsInt32 == 0 && counter[C_Dead].AsInt32 == 0) QueueCounts.Delete(key);
        else QueueCounts.Upsert(counter);
    }

    /// <summary>"field BETWEEN from AND to" with the bounds as parameters: LiteDB parses and compiles an expression once per
    /// distinct text and caches it, and <c>Query.Between</c> writes the bounds into the text (the time changes every call),
    /// so each call paid a parse and a compile (milliseconds, whatever the backlog).</summary>
    private static BsonExpression Range(string field, string from, string to) =>
        BsonExpression.Create(field + " BETWEEN @0 AND @1", new BsonValue(from), new BsonValue(to));

    /// <summary>The query behind <see cref="DueForDelivery"/>: one range of the <see cref="SpoolDocuments.Q_Due"/> index.</summary>
    internal static BsonExpression DueQuery(string endpoint, DateTimeOffset nowUtc)
    {
        var (from, to) = DueRange(endpoint, nowUtc.UtcTicks);
        return Range(Q_Due, from, to);
    }

    /// <inheritdoc />
    /// <remarks>Never-tried and requeued deliveries come first, oldest closed first; then retries, by next attempt. Reads
    /// the queue's index from the first due entry and stops after <paramref name="max"/>: the cost does not depend on how
    /// many deliveries wait for a later attempt.</remarks>
    public IReadOnlyList<TranscriptHeader> DueForDelivery(string endpoint, DateTimeOffset nowUtc, int max)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        return HeadersInQueueRange(DueQuery(endpoint, nowUtc), max);
    }

    /// <summary>The query behind <see cref="ScheduledAfter"/>: one range of the <see cref="SpoolDocuments.Q_Due"/> index.</summary>
    internal static BsonExpression ScheduledAfterQuery(string endpoint, DateTimeOffset afterUtc)
    {
        var (from, to) = ScheduledAfterRange(endpoint, afterUtc.UtcTicks);
        return Range(Q_Due, from, to);
    }

    /// <inheritdoc />
    /// <remarks>Reads the queue's index from the first entry after <paramref name="afterUtc"/> and stops after
    /// <paramref name="max"/>: normally the range is empty and the call costs one index seek.</remarks>
    public IReadOnlyList<TranscriptHeader> ScheduledAfter(string endpoint, DateTimeOffset afterUtc, int max)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        return HeadersInQueueRange(ScheduledAfterQuery(endpoint, afterUtc), max);
    }

    /// <summary>The headers of the queue entries in <paramref name="range"/>, in index order, at most <paramref name="max"/>;
    /// one lock hold for at most that many entries (plus quarantined ones stepped over).</summary>
    private List<TranscriptHeader> HeadersInQueueRange(BsonExpression range, int max)
    {
        if (max <= 0) return [];
        // Quarantined transcripts stay in the range (they are not delivered, not forgotten); they are stepped over, so the
        // range is read without a limit and the read stops once max readable ones are found.
        var unreadable = new List<(BsonValue Id, SpoolRecordException Error)>();
        var found = Read(() =>
        {
            unreadable.Clear();
            var due = new List<TranscriptHeader>(Math.Min(max, 64));
            foreach (var entry in Queue.Find(range))
            {
                var doc = _transcripts.FindById(entry[Q_Transcript]);
                if (doc is null || IsQuarantined(doc)) continue;
                try { due.Add(ReadHeader(doc, _cipher, strict: false)); }
                catch (SpoolRecordException e) { unreadable.Add((doc[F_Id], e)); }
                if (due.Count >= max) break;
            }
            return due;
        });
        if (unreadable.Count > 0) Quarantine(unreadable);
        return found;
    }

    /// <inheritdoc />
    /// <remarks>Read in slices of <see cref="UndeliveredSlice"/> headers, each under the lock on its own, so ingest waits
    /// for one slice at most; a transcript delivered meanwhile may still be listed.</remarks>
    public IReadOnlyList<TranscriptHeader> Undelivered()
    {
        var all = new List<TranscriptHeader>();
        var after = BsonValue.MinValue;
        while (true)
        {
            var slice = Read(() => _transcripts.Find(Query.GT(F_Id, after), skip: 0, limit: UndeliveredSlice).ToList());
            var unreadable = new List<(BsonValue Id, SpoolRecordException Error)>();
            lock (_gate)
            {
                foreach (var doc in slice)
                {
                    if (IsQuarantined(doc) || (doc[F_State].IsString && doc[F_State].AsString == nameof(TranscriptState.Open))) continue;
                    try { all.Add(ReadHeader(doc, _cipher, strict: false)); }
                    catch (SpoolRecordException e) { unreadable.Add((doc[F_Id], e)); }
                }
            }
            if (unreadable.Count > 0) Quarantine(unreadable);
            if (slice.Count < UndeliveredSlice) break;
            after = slice[^1][F_Id];
        }
        return all.OrderBy(h => h.ClosedUtc).ThenBy(h => h.OpenedUtc).ToList();
    }

    /// <inheritdoc />
    public IReadOnlyList<EndpointBacklog> Backlog() => Read(() =>
        QueueCounts.FindAll().ToList().Select(counter =>
        {
            var endpoint = counter[C_Endpoint].AsString;
            var (from, to) = OldestRange(endpoint);
            var oldest = Queue.Find(Range(Q_Oldest, from, to), skip: 0, limit: 1).FirstOrDefault();
            return new EndpointBacklog(endpoint, counter[C_Pending].AsInt32, counter[C_Dead].AsInt32)
            {
                OldestClosedUtc = oldest is null ? null : ToInstant(oldest[Q_Closed]),
                OldestNextAttemptUtc = oldest is null ? null : ToNullableInstant(oldest[Q_Next]),
                OldestAttempts = oldest?[Q_Attempts].AsInt32 ?? 0,
                OldestLastError = oldest is null || oldest[Q_Error].IsNull ? null : oldest[Q_Error].AsString,
                CopiesMayExist = Queue.Count(Query.EQ(Q_Copy, EndpointKey(endpoint))),
            };
        }).OrderBy(b => b.Endpoint, StringComparer.Ordinal).ToList());

    /// <summary>Puts dead deliveries back to pending, due at once (the operator's <c>imlogger spool retry</c> after fixing the
    /// endpoint): attempts start again from zero; the last error stays until the next attempt replaces it.</summary>
    /// <param name="endpoint">Only this endpoint's dead letters; null for all.</param>
    /// <returns>How many deliveries were requeued.</returns>
    public int RequeueDead(string? endpoint)
    {
        var count = 0;
        Write(() =>
        {
            count = 0;
            var endpoints = endpoint is not null ? [endpoint] : QueueCounts.FindAll().Select(c => c[C_Endpoint].AsString).ToList();
            foreach (var name in endpoints)
            {
                var (from, to) = DeadRange(name);
                foreach (var entry in Queue.Find(Query.Between(Q_Due, from, to)).ToList())
                {
                    var transcriptId = entry[Q_Transcript].AsString;
                    if (_transcripts.FindById(transcriptId) is { } held && (IsQuarantined(held) || HeaderProblem(held) is not null))
                        continue; // released with ReleaseQuarantined
                    SetQueueState(entry, DeliveryState.Pending, 0, null, entry[Q_Error].IsNull ? null : entry[Q_Error].AsString);
                    Queue.Update(entry);
                    Count(name, 1, -1);
                    var doc = _transcripts.FindById(transcriptId);
                    var delivery = doc?[F_Deliveries].AsArray.Select(d => d.AsDocument).FirstOrDefault(d => d[D_Endpoint].AsString == name);
                    if (doc is null || delivery is null) continue;
                    delivery[D_State] = nameof(DeliveryState.Pending);
                    delivery[D_Attempts] = 0;
                    delivery[D_Next] = BsonValue.Null;
                    _transcripts.Update(doc);
                    count++;
                }
            }
        });
        return count;
    }

    /// <summary>One transcript's header (open or not); null if it is not in the spool.</summary>
    public TranscriptHeader? Header(string transcriptId) => Read(() =>
        _transcripts.FindById(transcriptId) is { } doc ? ReadHeader(doc, _cipher, strict: false) : null);

    /// <summary>How many closed transcripts are still owed to some endpoint (a counter kept with the queue: LiteDB's Count
    /// reads every document it counts).</summary>
    public int UndeliveredCount() => Read(() => QueueTotals.FindById(T_Transcripts)?[T_Count].AsInt32 ?? 0);

    /// <summary>How many transcripts are open (LiteDB reads each: bounded by the open conversations, not the backlog).</summary>
    /// <remarks>An open transcript this version cannot read is quarantined here, as by any listing.</remarks>
    public int OpenCount() => OpenTranscripts().Count;
}
