using LiteDB;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>
/// How events are stored: one document per transcript per append ("stored batch") in the collection
/// <c>event_batches</c>, <c>{ _id: n, tid, prev, events: [event records] }</c>, with <c>_id</c> a counter that only grows.
/// Each event record inside is exactly what earlier versions stored as one document of <c>events</c> (its own
/// "{transcriptId}:{sequence}" id, sealed whole in an encrypted spool), so reading, sealing and checking an event is unchanged.
/// </summary>
/// <remarks>
/// <para>Why: earlier versions keyed each event "{transcriptId}:{sequence}", the transcript id a random GUID, so every
/// append inserted its events at random places of an index as large as the whole undelivered history: each batch dirtied
/// index pages spread over the file, and ingest slowed as the backlog grew (57% of the rate at 10,000 pending events once
/// 1,000,000 were pending). A stored batch's key is always the largest so far: the insert touches the index's end only,
/// whatever the backlog, and one document per transcript per append (not per event) means fewer index entries too.</para>
/// <para>A transcript finds its batches through a chain instead of a second index (which would bring the random inserts
/// back): its header keeps the last batch's id (<c>lastBatch</c>), each batch the previous one's (<c>prev</c>). Reading a
/// transcript for delivery follows the chain, one lookup per stored batch of that transcript, and reads nothing of other
/// transcripts. A chain broken by damage falls back to scanning the collection for the transcript (found short events
/// are then the quarantine's business, as before).</para>
/// <para>Spools written by earlier versions keep their events in <c>events</c>; every read takes both (the old range is
/// one index seek when empty), and deleting a delivered transcript deletes both, so an old spool opens, delivers and
/// drains without a conversion.</para>
/// </remarks>
public sealed partial class LiteDbSpool
{
    internal const string BatchesCollection = "event_batches";
    internal const string B_TranscriptId = "tid";
    internal const string B_Previous = "prev";
    internal const string B_Events = "events";

    /// <summary>In a transcript header: the id of its newest stored batch (absent: none, or only events of an earlier version).</summary>
    internal const string F_LastBatch = "lastBatch";

    private ILiteCollection<BsonDocument> _batches = null!;

    /// <summary>The next stored batch's id (under the gate). Ids of a rolled-back append are skipped, never reused.</summary>
    private long _nextBatchId;

    private void OpenBatches()
    {
        _batches = _db.GetCollection(BatchesCollection);
        var last = _batches.Find(Query.All(Query.Descending), 0, 1).FirstOrDefault();
        _nextBatchId = last is null ? 1 : last[F_Id].AsInt64 + 1;
    }

    /// <summary>The event records one stored batch holds at most (LiteDB's limit is 16 MB a document; one stanza is at
    /// most the component's stanza limit, far below this).</summary>
    private const int MaxBatchBytes = 4 * 1024 * 1024;

    /// <summary>The documents an append writes: per transcript, one stored batch (more past MaxBatchBytes) holding its events of
    /// this append, in order, chained to the transcript's previous batch. Updates the headers' <c>lastBatch</c> (the caller writes them).</summary>
/// <summary>About the BSON size of a record (LiteDB keeps its own count internal): exact for strings and binaries, which
    /// are what makes a record large; a little over for the rest.</summary>
    private static int ApproximateBytes(BsonValue value) => value.Type switch
    {
        BsonType.String => 8 + System.Text.Encoding.UTF8.GetByteCount(value.AsString),
        BsonType.Binary => 8 + value.AsBinary.Length,
        BsonType.Document => value.AsDocument.Sum(field => 8 + field.Key.Length + ApproximateBytes(field.Value)),
        BsonType.Array => value.AsArray.Sum(item => 8 + ApproximateBytes(item)),
        _ => 16,
    };

        private List<BsonDocument> StoredBatches(List<(string TranscriptId, BsonDocument Record)> records, Dictionary<string, BsonDocument> headers)
    {
        var byTranscript = new Dictionary<string, (BsonDocument Batch, int Bytes)>(StringComparer.Ordinal);
        var batches = new List<BsonDocument>(headers.Count);
        foreach (var (transcriptId, record) in records)
        {
            var bytes = ApproximateBytes(record);
            BsonDocument batch;
            // LiteDB refuses a document over 16 MB: a transcript's events of one append (large stanzas, a long outage's
            // backlog) go into as many stored batches as it takes, each chained to the one before.
            if (byTranscript.TryGetValue(transcriptId, out var open) && open.Bytes + bytes <= MaxBatchBytes)
            {
                batch = open.Batch;
                byTranscript[transcriptId] = (batch, open.Bytes + bytes);
            }
            else
            {
                var header = headers[transcriptId];
                var id = _nextBatchId++;
                batch = new BsonDocument
                {
                    [F_Id] = id,
                    [B_TranscriptId] = transcriptId,
                    [B_Previous] = header.TryGetValue(F_LastBatch, out var previous) ? previous : BsonValue.Null,
                    [B_Events] = new BsonArray(),
                };
                header[F_LastBatch] = id;
                byTranscript[transcriptId] = (batch, bytes);
                batches.Add(batch);
            }
            batch[B_Events].AsArray.Add(record);
        }
        return batches;
    }

    /// <summary>A transcript's event records (as stored: sealed or plain), in no particular order: those an earlier version
    /// stored one per document, then those of its stored batches. Under the gate.</summary>
    /// <param name="transcriptId">The transcript.</param>
    /// <param name="header">Its header document, when read already (its <c>lastBatch</c> starts the chain); null to read it.</param>
    private List<BsonDocument> StoredEventsOf(string transcriptId, BsonDocument? header = null)
    {
        var records = _events.Find(EventsOf(transcriptId)).ToList();
        foreach (var batch in StoredBatchesOf(transcriptId, header))
            foreach (var record in batch[B_Events].AsArray)
                records.Add(record.AsDocument);
        return records;
    }

    /// <summary>A transcript's stored batches, newest first, by its chain; by a scan of the collection if the chain is broken.</summary>
    private List<BsonDocument> StoredBatchesOf(string transcriptId, BsonDocument? header)
    {
        header ??= _transcripts.FindById(transcriptId);
        var found = new List<BsonDocument>();
        if (header is null || !header.TryGetValue(F_LastBatch, out var next)) return found;
        while (next is { IsNull: false })
        {
            var batch = next.IsInt64 ? _batches.FindById(next) : null;
            // Each link points to an older batch (ids only grow), so a chain always ends. Anything else is damage (a salvaged
            // spool, an altered record): then every batch that says it is this transcript's.
            if (batch is null || batch[B_TranscriptId] != transcriptId || found.Count > 0 && next.AsInt64 >= found[^1][F_Id].AsInt64)
                return _batches.Find(Query.EQ(B_TranscriptId, transcriptId)).ToList();
            found.Add(batch);
            next = batch[B_Previous];
        }
        return found;
    }

    /// <summary>Deletes a transcript's events, both kinds. Under the gate, inside a write.</summary>
    private void DeleteEventsOf(string transcriptId, BsonDocument header)
    {
        KeepAnsweredOfDeletedBatches(); // LiteDbSpool.AnsweredDeferred.cs
        _events.DeleteMany(EventsOf(transcriptId));
        foreach (var batch in StoredBatchesOf(transcriptId, header)) _batches.Delete(batch[F_Id]);
    }
}
