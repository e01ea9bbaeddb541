using ImLogger.Conversations;
using ImLogger.Domain;
using LiteDB;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool : IAnsweredRequests
{
    /// <summary>Per answered verdict request: <c>{ _id: request id, at: UTC ticks, ev: [event documents, sealed like the
    /// transcripts' events] }</c>. Kept <see cref="AnsweredKeptFor"/>: the module reports a refusal with the next request it
    /// sends, which is days at most after the stanza was held even across long outages.</summary>
    private const string AnsweredCollection = "answered";

    private static readonly TimeSpan AnsweredKeptFor = TimeSpan.FromDays(2);
    private readonly List<BsonDocument> _answeredPending = [];
    private readonly List<string> _answeredForget = [];
    private int _answeredSincePrune;

    /// <inheritdoc />
    public void RememberAnswered(string requestId, IReadOnlyList<ConversationEvent> allowed, IReadOnlyList<byte[]>? contents = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentNullException.ThrowIfNull(allowed);
        if (allowed.Count == 0) return;
        if (contents is not null && contents.Count != allowed.Count)
            throw new ArgumentException("One content digest per event, or none.", nameof(contents));
        var record = "answered:" + requestId;
        var events = new BsonArray(allowed.Select((e, i) => (BsonValue)ToStoredDocument(record, i, e, _cipher)));
        var doc = new BsonDocument { ["_id"] = requestId, ["at"] = DateTimeOffset.UtcNow.UtcTicks, ["ev"] = events };
        // The digests side by side in one value, sealed as the events are when the spool is encrypted: a digest of a short
        // text ("ok", "yes") can be guessed by hashing candidates, so in an encrypted spool it must not lie in the clear.
        if (contents is not null)
        {
            var digests = contents.SelectMany(c => c).ToArray();
            doc["cd"] = _cipher is null ? digests : _cipher.Seal(digests, record + ":cd");
        }
        lock (_gate) _answeredPending.Add(doc);
    }

    /// <inheritdoc />
    public IReadOnlyList<(ConversationEvent Event, byte[]? Content)> AnsweredSince(TimeSpan window)
    {
        var from = (DateTimeOffset.UtcNow - window).UtcTicks;
        return Read(() =>
        {
            // Queued, riding in stored batches, or in their collection (a record may be in two: recalled twice, harmless).
            // The prune keeps an index on "at" once the collection has records to prune; below that a scan is small.
            var stored = _db.GetCollection(AnsweredCollection).Find(Query.GTE("at", from));
            var recalled = new List<(ConversationEvent, byte[]?)>();
            foreach (var doc in _answeredPending.Concat(_answeredDeferred).Where(d => d["at"].AsInt64 >= from).Concat(stored))
            {
                var events = doc["ev"].AsArray;
                var digests = Digests(doc, events.Count);
                for (var i = 0; i < events.Count; i++)
                    recalled.Add((ToEvent(events[i].AsDocument, _cipher), digests?[(i * Classifier.DedupKeys.ContentBytes)..((i + 1) * Classifier.DedupKeys.ContentBytes)]));
            }
            return (IReadOnlyList<(ConversationEvent, byte[]?)>)recalled;
        });
    }

    /// <summary>The record's content digests, opened if sealed; null when it has none or they do not fit its events (a
    /// record of an older version, or one altered): its events are then recalled by their light copies alone.</summary>
    private byte[]? Digests(BsonDocument doc, int events)
    {
        if (!doc.TryGetValue("cd", out var cd) || !cd.IsBinary) return null;
        try
        {
            var digests = _cipher is null ? cd.AsBinary : _cipher.Open(cd.AsBinary, "answered:" + doc["_id"].AsString + ":cd");
            return digests.Length == events * Classifier.DedupKeys.ContentBytes ? digests : null;
        }
        catch (SpoolRecordException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<ConversationEvent>? TakeAnswered(string requestId)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        return Read(() =>
        {
            if (_answeredForget.Contains(requestId)) return null;
            var doc = _answeredPending.FirstOrDefault(d => d["_id"].AsString == requestId)
                ?? _answeredDeferred.FirstOrDefault(d => d["_id"].AsString == requestId)
                ?? _db.GetCollection(AnsweredCollection).FindById(requestId);
            if (doc is null) return null;
            _answeredForget.Add(requestId);
            return (IReadOnlyList<ConversationEvent>)doc["ev"].AsArray.Select(v => ToEvent(v.AsDocument, _cipher)).ToList();
        });
    }

    /// <inheritdoc />
    public void FlushAnswered()
    {
        // Records that rode in stored batches (_answeredDeferred) are durable already and reach their collection with the
        // once-a-second copy: counting them here made every batch after the first a second transaction and fsync, the
        // inline verdict's largest wait (docs/performance.md, "One write per request, and a 10 ms linger").
        lock (_gate)
            if (_answeredPending.Count == 0 && _answeredForget.Count == 0) return;
        Write(() => WriteAnswered());
    }

    /// <summary>Inside a write's transaction: the queued records and forgets, and the records that rode in stored batches
    /// (<see cref="DeferAnswered"/>). Taken off the queues only once that write committed (<see cref="AnsweredWritten"/>):
    /// a rolled-back batch keeps them for its retry.</summary>
    /// <param name="maxDeferred">At most this many deferred records (a slice of the copy, <see cref="CopyDeferredAnsweredInSlices"/>);
    /// the batches are marked copied only when none is left.</param>
    private void WriteAnswered(int maxDeferred = int.MaxValue)
    {
        var (remembered, forgotten, deferred) = (_answeredPending.Count, _answeredForget.Count, Math.Min(_answeredDeferred.Count, maxDeferred));
        if (remembered == 0 && forgotten == 0 && deferred == 0) return;
        var collection = _db.GetCollection(AnsweredCollection);
        // The deferred ones first: a forget below may be of one of them, and must win.
        foreach (var doc in _answeredDeferred.Take(deferred)) collection.Upsert(doc);
        foreach (var doc in _answeredPending.Take(remembered)) collection.Upsert(doc);
        foreach (var id in _answeredForget.Take(forgotten)) collection.Delete(id);
        if (deferred > 0 && deferred == _answeredDeferred.Count) MarkAnsweredThrough();
        _answeredSincePrune += remembered + deferred;
        if (_answeredSincePrune >= 1000)
        {
            _answeredSincePrune = 0;
            collection.EnsureIndex("at");
            collection.DeleteMany(Query.LT("at", (DateTimeOffset.UtcNow - AnsweredKeptFor).UtcTicks));
        }
        _answeredWritten = (remembered, forgotten, deferred, false);
    }

    private (int Remembered, int Forgotten, int Deferred, bool Rode) _answeredWritten;

    /// <summary>After a commit: what it wrote leaves the queues (under the gate, in the same write).</summary>
    private void AnsweredWritten()
    {
        var (remembered, forgotten, deferred, rode) = _answeredWritten;
        _answeredWritten = default;
        _answeredDeferred.RemoveRange(0, deferred);
        if (rode) _answeredDeferred.AddRange(_answeredPending.Take(remembered));
        _answeredPending.RemoveRange(0, remembered);
        _answeredForget.RemoveRange(0, forgotten);
    }
}
