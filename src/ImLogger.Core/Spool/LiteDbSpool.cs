using ImLogger.Conversations;
using LiteDB;
using ImLogger.Files;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>
/// The durable spool in a LiteDB 5 file (collections <c>transcripts</c> and <c>events</c>).
/// </summary>
/// <remarks>
/// <para><b>Durability.</b> Every write operation commits one LiteDB transaction and then fsyncs LiteDB's log file
/// before returning (<see cref="MakeDurable"/>). Reasoning, from LiteDB 5.0.21's source:</para>
/// <list type="bullet">
/// <item><c>Commit</c> writes the transaction's pages, the last one marked confirmed, synchronously into the log file
/// (<c>DiskService.WriteLogDisk</c>, whole 8 KiB pages through a one-page FileStream buffer): after it they are in the
/// OS page cache and survive a crash of this process, but LiteDB itself never fsyncs the log.</item>
/// <item>fsync works on the file, not on the descriptor, so fsync through a handle of our own on the log makes the
/// committed transaction durable: one fsync and the transaction's page writes per write.</item>
/// <item>At open LiteDB rebuilds its index of the log and keeps every confirmed transaction (an unconfirmed tail, from a
/// crash in the middle of a commit, is ignored); its checkpoint copies confirmed pages into the data file, fsyncs the data
/// file, then truncates the log. It checkpoints when the log reaches 1,000 pages, at close, and here once a second with
/// the generation advance (<see cref="Watch"/>), so the log stays small and its pages are copied once per second
/// however often they were rewritten.</item>
/// <item>Until 2026-11-30 every write was followed by a checkpoint instead: per inline request that copied the same 10-15
/// pages a second time, fsynced the data file, truncated the log and re-read the pages (about 75 system calls per
/// request against about 20 now; docs/performance.md, "The checkpoint per write").</item>
/// </list>
/// <para><b>Concurrency.</b> One process owns the file (<c>Connection=direct</c>, plus an exclusive
/// <c>.lock</c> file beside it so a second instance fails fast instead of sharing the file); inside the process
/// every operation runs under one lock, so LiteDB's per-thread transactions never interleave.</para>
/// <para><b>Encryption at rest</b> (optional): with a key, every event is stored sealed whole with AES-256-GCM and
/// each transcript's conversation key too (<see cref="SpoolCipher"/>, bound to the record's id), so a copied disk,
/// backup or stolen spool file does not reveal transcripts without the key file, and an altered or swapped record is
/// detected and its transcript set aside (<see cref="SpoolRecordException"/>). It does not protect against anyone who
/// can read the key file or the memory of the running process (root, the imlogger user). See docs/endpoints.md.</para>
/// <para><b>File modes.</b> The spool's folder (when created here), data file, log and lock are created owner-only
/// (0600/0700) whatever the umask; files an earlier version left readable by others are narrowed at open.</para>
/// </remarks>
public sealed partial class LiteDbSpool : ISpool
{
    private readonly object _gate = new();
    private readonly string _path;
    private readonly ILogger<LiteDbSpool> _logger;
    private readonly FileStream _lockFile;
    private readonly string? _key;
    private readonly SpoolCipher? _cipher;
    private LiteDatabase _db;
    private ILiteCollection<BsonDocument> _transcripts;
    private ILiteCollection<BsonDocument> _events;
    private bool _disposed;
    // Set when a failed write could not even be rolled back (disk full): LiteDB keeps that transaction open on its
    // thread and refuses every later one, so the database is closed and reopened before the next operation.
    private bool _wedged;
    // Event ids of the last appends, so a repeated append is recognised without a lookup: LiteDB's Exists inside the
    // write transaction costs about 1 ms (measured: 10,000 events/s fall to 950 with one per event), more than the
    // insert. After a failed append only the spool itself can tell what landed, so the retry looks each event up.
    private const int RecentEventIdCapacity = 10_000;
    private readonly HashSet<string> _recentEventIds = new(StringComparer.Ordinal);
    private readonly Queue<string> _recentEventOrder = new();
    private bool _appendFailed;

    /// <summary>Opens (or creates) the spool file.</summary>
    /// <param name="path">The LiteDB data file; its directory is created if missing. LiteDB keeps its write-ahead log
    /// in "{name}-log{ext}" beside it, and this class holds "{path}.lock" while open.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="key">The key file's text: the spool's records are sealed with AES-GCM (<see cref="SpoolCipher"/>); null
    /// for an unencrypted spool. An encrypted spool must be opened with the key it was created with; an unencrypted one, or
    /// one page-encrypted by an earlier version with this key, is converted at open.</param>
    /// <param name="acceptNewSpool">Start even when the spool is not the one its identity marker names (missing, empty,
    /// another, older): the operator's <c>--accept-new-spool</c>. See <see cref="SpoolMarker"/>.</param>
    /// <exception cref="IOException">The file is in use by another process, or cannot be created.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable LiteDB database, or the key does not open it.</exception>
    /// <exception cref="SpoolIdentityException">The spool is not the one its marker names, and <paramref name="acceptNewSpool"/> is false.</exception>
    public LiteDbSpool(string path, ILogger<LiteDbSpool> logger, string? key = null, bool acceptNewSpool = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(logger);
        _path = Path.GetFullPath(path);
        _logger = logger;
        _key = key;

        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory)) OwnerOnlyFiles.CreateFolder(directory);

        _lockFile = AcquireLock(_path);
        try
        {
            var marker = CheckMarkerBeforeOpen(acceptNewSpool);
            NarrowEarlierFiles();
            _cipher = key is null ? null : new SpoolCipher(key);
            PrepareEncryption();
            _db = OpenDatabase(_path);
            try
            {
                _transcripts = _db.GetCollection(TranscriptsCollection);
                _events = _db.GetCollection(EventsCollection);
                OpenBatches();
                MarkEncrypted(_db);
                _transcripts.EnsureIndex(F_State);
                // Events: the _id "{transcriptId}:{sequence:D10}" is the transcriptId+sequence index (unique, ordered), and the
                // only one. Earlier versions also indexed the transcript id and the event id: two more random-position inserts
                // per event, whose pages spread as the undelivered history grows (ingest slowed with it); a transcript's
                // events are its _id range, and the event id is only looked for after a failed append (EventAlreadyStored).
                _events.DropIndex(E_TranscriptId);
                _events.DropIndex(E_EventId);
                _db.Checkpoint();
                RecoverAnswered();
                RecoverActivity(); // LiteDbSpool.ActivityDeferred.cs
                _queueKept = QueueKeptByLastWriter();
                EnsureIdentity(marker, acceptNewSpool);
                EnsureQueue();
                StartWatching();
                _watching = true; // from now on Watch writes the identity marker, outside the gate (LiteDbSpool.Marker.cs)
            }
            catch (Exception ex) when (ex is LiteException or InvalidCastException or IndexOutOfRangeException or ArgumentException)
            {
                _db.Dispose();
                throw Corrupt(_path, ex);
            }
            catch
            {
                _watchHandle?.Dispose();
                _db.Dispose();
                throw;
            }
        }
        catch (LiteException e)
        {
            // From converting an earlier version's file (PrepareEncryption): storage errors leave the spool as its own type.
            _cipher?.Dispose();
            _lockFile.Dispose();
            throw SpoolUnavailable.From(_path, e);
        }
        catch
        {
            _cipher?.Dispose();
            _lockFile.Dispose();
            throw;
        }

        // The undelivered figure is the queue's counter: counting the headers would read the whole backlog at every start.
        _logger.LogInformation("spool {Path} opened: {Open} open and {Undelivered} undelivered transcript(s)",
            _path, _transcripts.Count(Query.EQ(F_State, nameof(TranscriptState.Open))), UndeliveredCount());
    }

    /// <summary>Log pages after which a commit checkpoints (LiteDB's default is 1,000). A checkpoint holds the spool while
    /// it copies every page of the log into the data file and fsyncs it: at 1,000 pages that was a 10-20 ms stall once a
    /// second or so, the inline verdicts' p99 (docs/performance.md, "Checkpoints and the p99"); a short log keeps each one
    /// to a few milliseconds.</summary>
    internal const int CheckpointPages = 64;

    private static LiteDatabase OpenDatabase(string path)
    {
        var cs = new ConnectionString
        {
            Filename = path,
            Connection = ConnectionType.Direct,
        };
        try
        {
            // LiteDB opens its files "open or create" with the umask's mode: created first, they are owner-only. It
            // deletes its empty log when closed, so the log is created anew before each open.
            OwnerOnlyFiles.Precreate(path);
            OwnerOnlyFiles.Precreate(LogFileOf(path));
            // The log holds acknowledged writes until a checkpoint (class remarks): its directory entry must be durable too.
            DurableDirectory.Sync(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var db = new LiteDatabase(cs);
            db.Pragma("CHECKPOINT", CheckpointPages);
            return db;
        }
        catch (IOException ex)
        {
            throw new IOException(
                $"Cannot open the spool '{path}': {ex.Message}. If another process has it open, stop that process; " +
                "otherwise check the disk and the file's permissions.", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException(
                $"Cannot open the spool '{path}': {ex.Message}. Give the imlogger service user read/write permission " +
                "on the file and its directory.", ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // LiteException for a bad header, but garbage pages also surface as ArgumentOutOfRange, InvalidCast, ...
            throw Corrupt(path, ex);
        }
    }

    private static InvalidDataException Corrupt(string path, Exception ex) => SpoolDamage.Describe(path, LogFileOf(path), ex);

    /// <inheritdoc />
    public TranscriptHeader OpenTranscript(ConversationType type, string conversationKey, DateTimeOffset openedUtc, IReadOnlyList<string> endpoints)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationKey);
        ArgumentNullException.ThrowIfNull(endpoints);
        var distinct = endpoints.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count == 0) throw new ArgumentException("A transcript needs at least one endpoint.", nameof(endpoints));
        if (distinct.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Endpoint names must not be empty.", nameof(endpoints));

        var header = new TranscriptHeader
        {
            Id = Guid.NewGuid().ToString("N"),
            ConversationType = type,
            ConversationKey = conversationKey,
            OpenedUtc = openedUtc.ToUniversalTime(),
            LastEventUtc = openedUtc.ToUniversalTime(),
            ClosedUtc = null,
            State = TranscriptState.Open,
            EventCount = 0,
            Deliveries = distinct.Select(e => new EndpointDelivery { Endpoint = e, State = DeliveryState.Pending }).ToList(),
        };
        Write(() => _transcripts.Insert(ToDocument(header, _cipher)));
        return header;
    }

    /// <inheritdoc />
    public void Append(IReadOnlyList<SpoolAppend> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return;
        var added = new List<SpoolAppend>(events.Count);
        try
        {
            Write(() => AppendInTransaction(events, added));
        }
        catch
        {
            lock (_gate) _appendFailed = true;
            throw;
        }
        lock (_gate)
        {
            _appendFailed = false;
            foreach (var (_, e) in added)
            {
                if (!_recentEventIds.Add(e.Id)) continue;
                _recentEventOrder.Enqueue(e.Id);
                if (_recentEventOrder.Count > RecentEventIdCapacity) _recentEventIds.Remove(_recentEventOrder.Dequeue());
            }
        }
    }

    private void AppendInTransaction(IReadOnlyList<SpoolAppend> events, List<SpoolAppend> added)
    {
        added.Clear();
        var headers = new Dictionary<string, BsonDocument>(StringComparer.Ordinal);
        var records = new List<(string, BsonDocument)>(events.Count);
        var stored = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var append in events)
        {
            var (transcriptId, e) = append;
            ArgumentNullException.ThrowIfNull(e);
            // Idempotent by event id: a write whose commit reached the log but whose checkpoint failed (disk full)
            // reports failure, and the caller's retry must not store the same events a second time.
            if (_appendFailed ? EventAlreadyStored(transcriptId, e.Id, stored) : _recentEventIds.Contains(e.Id)) continue;
            added.Add(append);
            if (!headers.TryGetValue(transcriptId, out var doc))
            {
                doc = _transcripts.FindById(transcriptId)
                    ?? throw new InvalidOperationException($"Cannot append to transcript {transcriptId}: it is not in the spool.");
                if (doc[F_State].AsString != nameof(TranscriptState.Open))
                    throw new InvalidOperationException($"Cannot append to transcript {transcriptId}: it is closed.");
                headers.Add(transcriptId, doc);
            }
            var sequence = doc[F_EventCount].AsInt32;
            records.Add((transcriptId, ToStoredDocument(transcriptId, sequence, e, _cipher)));
            doc[F_EventCount] = sequence + 1;
            if (e.ReceivedUtc.UtcTicks > doc[F_LastEvent].AsInt64) doc[F_LastEvent] = Instant(e.ReceivedUtc);
        }
        if (records.Count == 0)
        {
            WriteAnswered(); // the answered requests' records (LiteDbSpool.Answered.cs) join the events' transaction
            return;
        }
        var batches = StoredBatches(records, headers); // LiteDbSpool.Batches.cs
        DeferAnswered(batches[0]); // or ride in the first stored batch (LiteDbSpool.AnsweredDeferred.cs)
        _batches.InsertBulk(batches);
        foreach (var doc in headers.Values) _transcripts.Update(doc);
        CountActivity(added); // same transaction: the counters survive delivery, which deletes the events
    }

    /// <summary>The query for a transcript's events: the range of their _id ("{transcriptId}:{sequence:D10}").</summary>
    private static BsonExpression EventsOf(string transcriptId) => Query.StartsWith(F_Id, EventKeyPrefix(transcriptId));

    /// <summary>After a failed append only the spool can tell what landed: the event ids stored in the transcript, read
    /// once per transcript per retried batch from its _id range (bounded by the transcript, not by the spool).</summary>
    private bool EventAlreadyStored(string transcriptId, string eventId, Dictionary<string, HashSet<string>> stored)
    {
        if (!stored.TryGetValue(transcriptId, out var ids))
        {
            ids = StoredEventsOf(transcriptId).Select(d => d[E_EventId].AsString).ToHashSet(StringComparer.Ordinal);
            stored.Add(transcriptId, ids);
        }
        return ids.Contains(eventId);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The transcript is unknown or no longer open.</exception>
    public void AddEndpoints(string transcriptId, IReadOnlyList<string> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Endpoint names must not be empty.", nameof(endpoints));
        if (endpoints.Count == 0) return;
        Write(() =>
        {
            var doc = _transcripts.FindById(transcriptId)
                ?? throw new InvalidOperationException($"Cannot add endpoints to transcript {transcriptId}: it is not in the spool.");
            if (doc[F_State].AsString != nameof(TranscriptState.Open))
                throw new InvalidOperationException($"Cannot add endpoints to transcript {transcriptId}: it is closed.");
            var deliveries = doc[F_Deliveries].AsArray;
            var known = deliveries.Select(d => d.AsDocument[D_Endpoint].AsString).ToHashSet(StringComparer.Ordinal);
            var added = false;
            foreach (var endpoint in endpoints)
            {
                if (!known.Add(endpoint)) continue;
                deliveries.Add(ToDocument(new EndpointDelivery { Endpoint = endpoint, State = DeliveryState.Pending }));
                added = true;
            }
            if (added) _transcripts.Update(doc);
        });
    }

    /// <inheritdoc />
    public void Close(string transcriptId, DateTimeOffset closedUtc)
    {
        Write(() =>
        {
            var doc = _transcripts.FindById(transcriptId)
                ?? throw new InvalidOperationException($"Cannot close transcript {transcriptId}: it is not in the spool.");
            if (doc[F_State].AsString != nameof(TranscriptState.Open)) return; // already closed: idempotent
            if (doc[F_EventCount].AsInt32 == 0)
            {
                DeleteEventsOf(transcriptId, doc);
                _transcripts.Delete(transcriptId);
                _logger.LogDebug("transcript {Id} ({Key}) closed without events; deleted", transcriptId, KeyOf(doc, _cipher, strict: false));
                return;
            }
            doc[F_State] = nameof(TranscriptState.Pending);
            doc[F_Closed] = Instant(closedUtc);
            _transcripts.Update(doc);
            Enqueue(doc);
        });
    }

    /// <inheritdoc />
    public IReadOnlyList<TranscriptHeader> OpenTranscripts() => ReadHeaders(
        () => _transcripts.Find(Query.EQ(F_State, nameof(TranscriptState.Open))), headers => headers.OrderBy(h => h.OpenedUtc));

    /// <inheritdoc />
    /// <exception cref="SpoolRecordException">One of the transcript's records cannot be read (fails authentication, or is not
    /// what this version writes); the transcript is quarantined.</exception>
    public Transcript? Load(string transcriptId) => LoadOrQuarantine(transcriptId);

    /// <inheritdoc />
    public void MarkDelivered(string transcriptId, string endpoint)
    {
        Write(() =>
        {
            var doc = _transcripts.FindById(transcriptId);
            if (doc is null)
            {
                _logger.LogDebug("MarkDelivered: transcript {Id} is no longer in the spool", transcriptId);
                return;
            }
            var deliveries = doc[F_Deliveries].AsArray;
            var remaining = new BsonArray(deliveries.Where(d => d.AsDocument[D_Endpoint].AsString != endpoint));
            if (remaining.Count == deliveries.Count)
            {
                _logger.LogDebug("MarkDelivered: transcript {Id} was not owed to {Endpoint}", transcriptId, endpoint);
                return;
            }
            Dequeue(transcriptId, endpoint, lastOne: remaining.Count == 0);
            if (remaining.Count == 0)
            {
                DeleteEventsOf(transcriptId, doc);
                _transcripts.Delete(transcriptId);
            }
            else
            {
                doc[F_Deliveries] = remaining;
                _transcripts.Update(doc);
            }
        });
    }

    /// <inheritdoc />
    public void RecordPartsAccepted(string transcriptId, string endpoint, int partsAccepted, int eventsAccepted)
    {
        Write(() =>
        {
            var doc = _transcripts.FindById(transcriptId);
            var delivery = doc?[F_Deliveries].AsArray.Select(d => d.AsDocument).FirstOrDefault(d => d[D_Endpoint].AsString == endpoint);
            if (doc is null || delivery is null)
            {
                _logger.LogWarning("RecordPartsAccepted: transcript {Id} is not owed to {Endpoint} (any more)", transcriptId, endpoint);
                return;
            }
            delivery[D_PartsAccepted] = partsAccepted;
            delivery[D_EventsAccepted] = eventsAccepted;
            _transcripts.Update(doc);
        });
    }

    /// <inheritdoc />
    public void RecordFailure(string transcriptId, string endpoint, string error, DateTimeOffset? nextAttemptUtc, bool dead)
    {
        Write(() =>
        {
            var doc = _transcripts.FindById(transcriptId);
            var delivery = doc?[F_Deliveries].AsArray.Select(d => d.AsDocument).FirstOrDefault(d => d[D_Endpoint].AsString == endpoint);
            if (doc is null || delivery is null)
            {
                _logger.LogWarning("RecordFailure: transcript {Id} is not owed to {Endpoint} (any more)", transcriptId, endpoint);
                return;
            }
            delivery[D_Attempts] = delivery[D_Attempts].AsInt32 + 1;
            delivery[D_Error] = error;
            if (dead)
            {
                delivery[D_State] = nameof(DeliveryState.Dead);
                delivery[D_Next] = BsonValue.Null;
            }
            else
            {
                delivery[D_Next] = Instant(nextAttemptUtc);
            }
            _transcripts.Update(doc);
            QueueFailure(transcriptId, endpoint, delivery[D_Attempts].AsInt32, nextAttemptUtc, error, dead);
        });
    }

    /// <summary>Runs <paramref name="action"/> in one transaction, then makes it durable (see class remarks).</summary>
    /// <param name="action">The write.</param>
    /// <param name="checkpointFollows">The caller checkpoints right after (the once-a-second advance): the checkpoint's fsync
    /// of the data file makes this write durable, as it does the identity document written between them, so the log's
    /// fsync is skipped (one fsync less under the gate each second).</param>
    private void Write(Action action, bool checkpointFollows = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_unit is { Open: true })
            {
                action(); // joins the unit of work's transaction (LiteDbSpool.UnitOfWork.cs), which commits it
                return;
            }
            ThrowIfGone();
            ReopenIfWedged();
            if (!BeginTransaction()) throw new InvalidOperationException("LiteDB transaction already open on this thread.");
            try
            {
                action();
                _db.Commit();
                if (_unit is not null) _unit.Committed = true;
                AnsweredWritten(); // LiteDbSpool.Answered.cs: queued records rode with this transaction
                ActivityCommitted(); // LiteDbSpool.ActivityDeferred.cs
            }
            catch (Exception e)
            {
                _answeredWritten = default;
                ActivityRolledBack();
                try { _db.Rollback(); }
                catch (Exception rollbackError)
                {
                    _logger.LogError(rollbackError, "rollback failed in spool {Path}; it is reopened before the next write", _path);
                    _wedged = true;
                    try { _db.Dispose(); }
                    catch (Exception disposeError) { _logger.LogDebug("closing the spool after a failed rollback: {Problem}", disposeError.Message); }
                }
                if (e is LiteException { ErrorCode: LiteException.INVALID_DATAFILE_STATE } damage) throw Damaged(damage);
                if (e is LiteException refused) throw SpoolUnavailable.From(_path, refused);
                throw;
            }
            // Commit put the pages into the log file in the OS page cache; MakeDurable fsyncs the log.
            if (!checkpointFollows) MakeDurable();
            _writesSinceMark++;
        }
    }

    /// <summary>Reopens after a failed rollback. LiteDB's recovery at open ignores the uncommitted transaction's pages
    /// in the log; every acknowledged write was checkpointed into the data file. Throws (and stays wedged) while the
    /// disk still refuses, so the caller's retry comes back here.</summary>
    private void ReopenIfWedged()
    {
        if (!_wedged) return;
        CloseLogHandle();
        var db = OpenDatabase(_path);
        _db = db;
        _transcripts = db.GetCollection(TranscriptsCollection);
        _events = db.GetCollection(EventsCollection);
        OpenBatches();
        _wedged = false;
        _logger.LogInformation("spool {Path} reopened after a failed write", _path);
    }

    private T Read<T>(Func<T> query)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ReopenIfWedged();
            try
            {
                return query();
            }
            catch (LiteException e) when (e.ErrorCode == LiteException.INVALID_DATAFILE_STATE)
            {
                throw Damaged(e);
            }
            catch (LiteException e)
            {
                throw SpoolUnavailable.From(_path, e);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _watching = false; // the last marker is written here, at once
            if (!_wedged && _gone is null && _damage is null && _writesSinceMark > 0)
            {
                try { Advance(); }
                catch (Exception e) when (e is LiteException or IOException) { _logger.LogDebug("spool generation not advanced at close: {Reason}", e.Message); }
            }
            WriteDueMarker(); // one a Watch advanced but had not written yet
            _disposed = true;
            _watchHandle?.Dispose();
            CloseLogHandle();
            if (!_wedged) _db.Dispose();
            _cipher?.Dispose();
            _lockFile.Dispose();
        }
    }
}
