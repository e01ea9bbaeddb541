using ImLogger.Seats;
using LiteDB;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool : ISeenUsers
{
    /// <summary>Users of organizations that log by default, in order of first sight: <c>{ _id: jid, seq, first }</c>.
    /// The order decides who holds a seat (<see cref="SeatPlan"/>), so it is kept across restarts and never pruned.</summary>
    private const string SeenUsersCollection = "seen_users";

    /// <inheritdoc />
    public IReadOnlyList<SeenUser> SeenUsers() =>
        Read<IReadOnlyList<SeenUser>>(() => _db.GetCollection(SeenUsersCollection).FindAll()
            .OrderBy(d => d["seq"].AsInt64)
            .Select(d => new SeenUser(d["_id"].AsString, new DateTimeOffset(d["first"].AsInt64, TimeSpan.Zero)))
            .ToList());

    /// <inheritdoc />
    public void AddSeenUser(SeenUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        Write(() =>
        {
            var collection = _db.GetCollection(SeenUsersCollection);
            if (collection.FindById(user.Jid) != null) return;
            var seq = collection.Count() == 0 ? 1L : collection.Max(d => d["seq"]).AsInt64 + 1;
            collection.Insert(new BsonDocument
            {
                ["_id"] = user.Jid,
                ["seq"] = seq,
                ["first"] = user.FirstSeenUtc.UtcTicks,
            });
        });
    }

    /// <inheritdoc />
    public bool RemoveSeenUser(string jid)
    {
        ArgumentNullException.ThrowIfNull(jid);
        var removed = false;
        Write(() => removed = _db.GetCollection(SeenUsersCollection).Delete(jid));
        return removed;
    }
}
