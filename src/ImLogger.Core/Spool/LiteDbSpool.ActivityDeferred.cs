using ImLogger.Conversations;
using LiteDB;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>
/// The activity counters (per user and day) are added up in memory and written once a second, not per request.
/// </summary>
/// <remarks>
/// <para>Why: every append rewrote its users' day documents, one more page per inline request (of 6, counted by
/// <c>SpoolPagesWrittenTests</c>), for counters read only by <c>imlogger report</c>.</para>
/// <para>Nothing is lost to a crash: the counters count exactly the events of the stored batches, whose ids only grow. The
/// meta document <c>activity</c> records the last stored batch counted in the collection (<c>through</c>), written in the
/// same transaction as the counters; at open the batches after it (about a second's worth, one index range) are counted
/// again (<see cref="RecoverActivity"/>). A write that deletes stored batches (delivery) writes the held counters first,
/// in its own transaction. <see cref="Activity"/> adds what is held to what is stored.</para>
/// </remarks>
public sealed partial class LiteDbSpool
{
    /// <summary>In <c>spool_meta</c>: <c>{ _id: "activity", through: last stored batch id counted in the collection }</c>.</summary>
    private const string ActivityMetaId = "activity";

    /// <summary>Counted by committed writes, not yet in the collection (under the gate).</summary>
    private readonly Dictionary<string, BsonDocument> _activityHeld = new(StringComparer.Ordinal);

    /// <summary>Counted by the write in progress: held once it commits, forgotten if it rolls back.</summary>
    private readonly Dictionary<string, BsonDocument> _activityStaged = new(StringComparer.Ordinal);

    /// <summary>The held counters as they were when the write in progress first wrote them into the collection: put back if
    /// it rolls back. Null while it wrote none.</summary>
    private Dictionary<string, BsonDocument>? _activityBeforeWrite;

    /// <summary>Inside a transaction: the held and staged counters into the collection, and the batch they count through.
    /// They leave memory at once (a later count in the same transaction is written by the next call, not twice).</summary>
    private void WriteActivity()
    {
        if (_activityHeld.Count == 0 && _activityStaged.Count == 0) return;
        var collection = ActivityDocuments;
        var merged = new Dictionary<string, BsonDocument>(StringComparer.Ordinal);
        foreach (var (key, delta) in _activityHeld.Concat(_activityStaged))
            merged[key] = AddActivity(merged.TryGetValue(key, out var d) ? d : collection.FindById(key), delta);
        foreach (var doc in merged.Values) collection.Upsert(doc);
        MarkActivityThrough();
        _activityBeforeWrite ??= new Dictionary<string, BsonDocument>(_activityHeld, StringComparer.Ordinal);
        _activityHeld.Clear();
        _activityStaged.Clear();
    }

    /// <summary>Inside a transaction that leaves no counter held: every stored batch so far is counted in the collection.</summary>
    private void MarkActivityThrough() =>
        _db.GetCollection(MetaCollection).Upsert(new BsonDocument { [F_Id] = ActivityMetaId, ["through"] = _nextBatchId - 1 });

    /// <summary>After a commit: what it counted and did not write is held.</summary>
    private void ActivityCommitted()
    {
        foreach (var (key, delta) in _activityStaged)
            _activityHeld[key] = AddActivity(_activityHeld.GetValueOrDefault(key), delta);
        _activityStaged.Clear();
        _activityBeforeWrite = null;
    }

    /// <summary>After a rollback: nothing it counted or wrote happened.</summary>
    private void ActivityRolledBack()
    {
        _activityStaged.Clear();
        if (_activityBeforeWrite is null) return;
        foreach (var (key, delta) in _activityBeforeWrite) _activityHeld[key] = delta;
        _activityBeforeWrite = null;
    }

    /// <summary>The stored day documents with the held counters added (copies; nothing stored changes).</summary>
    private IEnumerable<BsonDocument> WithHeldActivity(IEnumerable<BsonDocument> stored, long fromDay)
    {
        if (_activityHeld.Count == 0) return stored;
        var byId = stored.ToDictionary(d => d["_id"].AsString, StringComparer.Ordinal);
        foreach (var (key, delta) in _activityHeld)
        {
            if (delta["day"].AsInt64 < fromDay) continue;
            var copy = byId.TryGetValue(key, out var doc) ? new BsonDocument(doc.ToDictionary()) : null;
            if (copy is not null && copy.TryGetValue("refusedBy", out var r) && r.IsDocument) copy["refusedBy"] = new BsonDocument(r.AsDocument.ToDictionary());
            byId[key] = AddActivity(copy, delta);
        }
        return byId.Values;
    }

    /// <summary>At open: counts the events of the stored batches written after the last counters were stored (a crash's last
    /// second). A spool without the meta document was never written by a version that holds counters: nothing to count.</summary>
    private void RecoverActivity()
    {
        var meta = _db.GetCollection(MetaCollection).FindById(ActivityMetaId);
        var events = new List<SpoolAppend>();
        if (meta is not null && meta.TryGetValue("through", out var through) && through.IsNumber)
        {
            foreach (var batch in _batches.Find(Query.GT(F_Id, through.AsInt64)))
                foreach (var record in batch[B_Events].AsArray)
                {
                    try { events.Add(new SpoolAppend(batch[B_TranscriptId].AsString, ToEvent(record.AsDocument, _cipher))); }
                    catch (Exception e) when (e is SpoolRecordException or InvalidCastException or KeyNotFoundException or FormatException)
                    {
                        _logger.LogWarning("spool {Path}: an event of stored batch {Batch} cannot be read to count activity ({Problem})", _path, batch[F_Id], e.Message);
                    }
                }
        }
        if (meta is not null && events.Count == 0 && meta["through"] == _nextBatchId - 1) return;
        CountActivity(events);
        _db.BeginTrans();
        WriteActivity();
        _db.Commit();
        _db.Checkpoint();
        ActivityCommitted();
    }
}
