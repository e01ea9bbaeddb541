using ImLogger.Continuity;
using LiteDB;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool : IContinuityStore
{
    /// <summary>What the pipeline must remember across a restart (calls in progress, notices sent):
    /// <c>{ _id, kind, at (UTC ticks), fields: { name: text } }</c>. Small: a call's record goes at its end, a notice's
    /// is replaced by the next one to the same person and forgotten after the notice interval.</summary>
    private const string ContinuityCollection = "continuity";

    /// <inheritdoc />
    public IReadOnlyList<ContinuityRecord> LoadContinuity() =>
        Read<IReadOnlyList<ContinuityRecord>>(() => _db.GetCollection(ContinuityCollection).FindAll()
            .Select(ContinuityRecordOf)
            .OrderBy(r => r.AtUtc)
            .ToList());

    /// <inheritdoc />
    public void SaveContinuity(IReadOnlyList<ContinuityRecord> upserts, IReadOnlyList<string> deletes)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        ArgumentNullException.ThrowIfNull(deletes);
        if (upserts.Count == 0 && deletes.Count == 0) return;
        Write(() =>
        {
            var collection = _db.GetCollection(ContinuityCollection);
            foreach (var id in deletes) collection.Delete(id);
            foreach (var r in upserts) collection.Upsert(ContinuityDocument(r));
        });
    }

    /// <inheritdoc />
    public int ForgetContinuity(string kind, DateTimeOffset beforeUtc)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var removed = 0;
        Write(() => removed = _db.GetCollection(ContinuityCollection)
            .DeleteMany(Query.And(Query.EQ("kind", kind), Query.LT("at", beforeUtc.UtcTicks))));
        return removed;
    }

    private static BsonDocument ContinuityDocument(ContinuityRecord r)
    {
        var fields = new BsonDocument();
        foreach (var (name, value) in r.Fields) fields[name] = value == null ? BsonValue.Null : new BsonValue(value);
        return new BsonDocument { ["_id"] = r.Id, ["kind"] = r.Kind, ["at"] = r.AtUtc.UtcTicks, ["fields"] = fields };
    }

    private static ContinuityRecord ContinuityRecordOf(BsonDocument d)
    {
        var fields = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in d["fields"].AsDocument) fields[name] = value.IsNull ? null : value.AsString;
        return new ContinuityRecord(d["_id"].AsString, d["kind"].AsString, new DateTimeOffset(d["at"].AsInt64, TimeSpan.Zero), fields);
    }
}
