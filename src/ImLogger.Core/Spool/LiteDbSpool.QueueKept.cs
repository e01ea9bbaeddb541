using LiteDB;

namespace ImLogger.Spool;

/// <summary>
/// Whether the delivery queue can be trusted at open without reading the backlog. The queue is changed in the same
/// transaction as the transcript headers by this version, so it can only disagree with them when some other program
/// wrote the spool: a version from before the queue (headers only), or a salvage. Every version since the spool
/// identity rewrites the identity document when it opens the spool (<see cref="Advance"/>); this version adds to it the
/// generation at which the queue was known to agree (<see cref="QueueKeptField"/>). An older version's rewrite drops the
/// field, a salvage removes it, and the next open then rebuilds the queue from the headers once.
/// </summary>
/// <remarks>Not detected: a version from before the spool identity (it does not touch the identity document) writing the
/// spool after this one. Removing the field from <c>spool_meta</c>'s identity document forces the rebuild.</remarks>
public sealed partial class LiteDbSpool
{
    /// <summary>In the identity document: the generation at which the queue last agreed with the headers.</summary>
    internal const string QueueKeptField = "queueKept";

    /// <summary>True once the queue is known to agree with the headers; from then on <see cref="Advance"/> records it.</summary>
    private bool _queueKept;

    /// <summary>The identity document says the queue agreed with the headers at the generation it records: no program that
    /// ignores the queue advanced the generation since.</summary>
    private bool QueueKeptByLastWriter()
    {
        var identity = _db.GetCollection(MetaCollection).FindById(IdentityMetaId);
        return identity is not null && identity.TryGetValue(QueueKeptField, out var kept) && kept.IsNumber
            && identity.TryGetValue("generation", out var generation) && generation.IsNumber && kept.AsInt64 == generation.AsInt64;
    }

    /// <summary>Records, durably, that the queue agrees with the headers at the current generation.</summary>
    private void StampQueueKept()
    {
        var metas = _db.GetCollection(MetaCollection);
        var identity = metas.FindById(IdentityMetaId) ?? new BsonDocument { ["_id"] = IdentityMetaId, ["id"] = _spoolId, ["generation"] = _generation };
        identity[QueueKeptField] = identity["generation"];
        metas.Upsert(identity);
        _db.Checkpoint();
    }
}
