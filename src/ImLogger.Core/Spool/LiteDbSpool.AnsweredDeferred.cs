using LiteDB;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>
/// The answered requests' records ride in the request's stored batch, and reach their own collection once a second.
/// </summary>
/// <remarks>
/// <para>Why: <c>answered</c> is keyed by the module's request id, which is random, and indexed by time for its pruning;
/// inserting one record per request into both indexes dirtied about 7 of the 13 pages an inline request wrote (counted
/// by <c>SpoolPagesWrittenTests</c>). The stored batch is written in the same transaction anyway, and its key only grows.
/// So a request's records go into its first stored batch (field <c>answered</c>), durable with its events exactly as
/// before, and are copied into <c>answered</c> by the once-a-second generation advance (<see cref="Advance"/>), many in
/// one transaction, off the request's path.</para>
/// <para>Nothing acknowledged is lost to a crash: the identity meta document <c>answered</c> records the last stored
/// batch whose records are in the collection (<c>through</c>), written in the transaction that copies them; at open the
/// batches after it (about a second's worth, one index range) are read and their records copied
/// (<see cref="RecoverAnswered"/>). A write that deletes stored batches (delivery) copies the waiting records first, in
/// its own transaction, and a report (<see cref="TakeAnswered"/>'s forget) writes them directly, so a refusal reported
/// twice still marks once (the copy's slices wait while a forget is queued: <c>SpoolAnsweredDeferredTests.AReportTakenWhileTheCopyGoesInSlices_StaysTaken_InThisRunAndTheNext</c>). Until copied, <see cref="TakeAnswered"/> finds them in memory.</para>
/// <para>A spool salvaged or converted to encryption while records still rode in batches (killed, then salvaged) keeps
/// them only in the batches: at most the last second's records, needed only if that second's verdicts also came too late.</para>
/// </remarks>
public sealed partial class LiteDbSpool
{
    /// <summary>In a stored batch: the answered requests' records that rode with it (the <c>answered</c> collection's documents).</summary>
    internal const string B_Answered = "answered";

    /// <summary>In <c>spool_meta</c>: <c>{ _id: "answered", through: last stored batch id whose records are in the collection }</c>.</summary>
    private const string AnsweredMetaId = "answered";

    /// <summary>Records committed inside stored batches, not yet in the <c>answered</c> collection (under the gate).</summary>
    private readonly List<BsonDocument> _answeredDeferred = [];

    /// <summary>Inside an append's transaction: the queued records ride in <paramref name="batch"/>, unless this transaction
    /// writes the collection anyway (a forget to make durable, or records already written in it), then they go there too.</summary>
    private void DeferAnswered(BsonDocument batch)
    {
        if (_answeredForget.Count > 0 || _answeredWritten != default)
        {
            WriteAnswered();
            return;
        }
        if (_answeredPending.Count == 0) return;
        batch[B_Answered] = new BsonArray(_answeredPending.Select(d => (BsonValue)d));
        _answeredWritten = (_answeredPending.Count, 0, 0, true);
    }

    /// <summary>The once-a-second copy (from <see cref="Advance"/>): the records that rode in stored batches, into the
    /// collection, in one transaction. A failure leaves them in the batches, where the next copy or open finds them.</summary>
    private void CopyDeferredAnswered()
    {
        var through = _nextBatchId - 1;
        if (_answeredDeferred.Count == 0 && _activityHeld.Count == 0 && _throughMarked == through || _unit is not null) return;
        try
        {
            Write(() =>
            {
                WriteAnswered();
                WriteActivity(); // the held activity counters too (LiteDbSpool.ActivityDeferred.cs)
                // Nothing of the batches so far is held any more: the next open reads only the batches after these.
                MarkAnsweredThrough();
                MarkActivityThrough();
            }, checkpointFollows: true);
            _throughMarked = through;
        }
        catch (Exception e) when (e is LiteException or IOException or InvalidDataException)
        {
            _logger.LogDebug("answered requests not copied from their stored batches yet: {Reason}", e.Message);
        }
    }

    /// <summary>Records copied per transaction by <see cref="CopyDeferredAnsweredInSlices"/>.</summary>
    private const int AnsweredCopySlice = 32;

    /// <summary>Before the advance, outside its hold of the gate: the deferred records copied a slice per transaction, each
    /// taking the gate on its own, so a request waits for one slice at most instead of the whole second's copy. Not marked
    /// copied (the batches stay the record until the advance's own copy marks them); not fsynced, as the advance's
    /// checkpoint follows (a kill -9 keeps what the OS holds; the batches hold the records anyway).</summary>
    private void CopyDeferredAnsweredInSlices()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_disposed || _wedged || _gone is not null || _damage is not null || _unit is not null) return;
                if (_answeredDeferred.Count <= AnsweredCopySlice) return; // the advance copies the rest and marks them
                // A report's forget waits: written by a slice it would delete a record a later slice copies back (the same
                // refusal found twice). The advance, or the ingest loop's next write, writes it with every record.
                if (_answeredForget.Count > 0) return;
                try { Write(() => WriteAnswered(AnsweredCopySlice), checkpointFollows: true); }
                catch (Exception e) when (e is LiteException or IOException or InvalidDataException)
                {
                    _logger.LogDebug("answered requests not copied from their stored batches yet: {Reason}", e.Message);
                    return;
                }
            }
        }
    }

    /// <summary>The stored batch both meta documents last said was copied through (-1: not known in this run).</summary>
    private long _throughMarked = -1;

    /// <summary>Inside a write that deletes stored batches: the records riding in them reach the collection first.</summary>
    private void KeepAnsweredOfDeletedBatches()
    {
        if (_answeredDeferred.Count > 0 || _answeredWritten.Rode) WriteAnswered();
        WriteActivity(); // the held counters count events of the batches about to go: written before they do
    }

    /// <summary>Inside the transaction that copies the deferred records: every stored batch so far has its records in the collection.</summary>
    private void MarkAnsweredThrough() =>
        _db.GetCollection(MetaCollection).Upsert(new BsonDocument { [F_Id] = AnsweredMetaId, ["through"] = _nextBatchId - 1 });

    /// <summary>At open: copies the records of the stored batches written after the last copy (a crash's last second) into the
    /// collection. A spool without the meta document was never written by a version that defers: nothing rides in its batches.</summary>
    private void RecoverAnswered()
    {
        var meta = _db.GetCollection(MetaCollection).FindById(AnsweredMetaId);
        var found = new List<BsonDocument>();
        if (meta is not null && meta.TryGetValue("through", out var through) && through.IsNumber)
        {
            foreach (var batch in _batches.Find(Query.GT(F_Id, through.AsInt64)))
                if (batch.TryGetValue(B_Answered, out var rode) && rode.IsArray)
                    found.AddRange(rode.AsArray.Where(r => r.IsDocument).Select(r => r.AsDocument));
        }
        if (meta is not null && found.Count == 0 && meta["through"] == _nextBatchId - 1) return;
        _db.BeginTrans();
        var collection = _db.GetCollection(AnsweredCollection);
        foreach (var doc in found) collection.Upsert(doc);
        MarkAnsweredThrough();
        _db.Commit();
        _db.Checkpoint();
    }
}
