using ImLogger.Spool;
using LiteDB;

namespace ImLogger.Tests.DeliveryTestSupport;

/// <summary>
/// A spool file's event records, wherever they are stored: one document each in <c>events</c> (spools of earlier
/// versions) or several inside a stored batch of <c>event_batches</c> (LiteDbSpool.Batches.cs). Tests that alter a record
/// on disk, as another program could, go through this so they alter the record the spool reads.
/// </summary>
internal sealed class StoredEventRecords(LiteDatabase db)
{
    private ILiteCollection<BsonDocument> Singles => db.GetCollection("events");
    private ILiteCollection<BsonDocument> Batches => db.GetCollection(LiteDbSpool.BatchesCollection);

    /// <summary>The record "{transcriptId}:{sequence:D10}".</summary>
    public BsonDocument FindById(string id) =>
        Singles.FindById(id) ?? Batches.FindAll().SelectMany(b => b[LiteDbSpool.B_Events].AsArray).Select(e => e.AsDocument)
            .FirstOrDefault(e => e["_id"] == id) ?? throw new InvalidOperationException($"no event record {id}");

    /// <summary>Replaces the record with the same _id by <paramref name="record"/>.</summary>
    public void Update(BsonDocument record)
    {
        if (Singles.Update(record)) return;
        foreach (var batch in Batches.FindAll())
        {
            var events = batch[LiteDbSpool.B_Events].AsArray;
            for (var i = 0; i < events.Count; i++)
            {
                if (events[i].AsDocument["_id"] != record["_id"]) continue;
                events[i] = record;
                Batches.Update(batch);
                return;
            }
        }
        throw new InvalidOperationException($"no event record {record["_id"]}");
    }

    /// <summary>Every event record.</summary>
    public IEnumerable<BsonDocument> FindAll() =>
        Singles.FindAll().Concat(Batches.FindAll().SelectMany(b => b[LiteDbSpool.B_Events].AsArray).Select(e => e.AsDocument)).ToList();

    /// <summary>The records of one transcript.</summary>
    public int CountOf(string transcriptId) => FindAll().Count(e => e["tid"] == transcriptId);
}

/// <summary>Spool files as earlier versions left them.</summary>
internal static class EarlierSpoolFormat
{
    /// <summary>Rewrites a closed spool's events as versions before stored batches kept them: one document per event in
    /// <c>events</c> (the very record a stored batch holds), headers without <c>lastBatch</c>.</summary>
    public static void OneDocumentPerEvent(LiteDatabase db)
    {
        var batches = db.GetCollection(LiteDbSpool.BatchesCollection);
        var singles = db.GetCollection("events");
        foreach (var batch in batches.FindAll().ToList())
            foreach (var record in batch[LiteDbSpool.B_Events].AsArray)
                singles.Insert(record.AsDocument);
        db.DropCollection(LiteDbSpool.BatchesCollection);
        var transcripts = db.GetCollection("transcripts");
        foreach (var header in transcripts.FindAll().ToList())
            if (header.Remove(LiteDbSpool.F_LastBatch)) transcripts.Update(header);
    }
}
