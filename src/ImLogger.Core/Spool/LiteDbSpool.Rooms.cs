using ImLogger.Policy;
using LiteDB;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool : IEncryptedRoomStore
{
    /// <summary>Rooms learned to be end-to-end encrypted: <c>{ _id: room, why }</c>. Kept until an admin forgets one
    /// (<c>imlogger spool forget-room</c>).</summary>
    private const string EncryptedRoomsCollection = "encrypted_rooms";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> LearnedEncryptedRooms() =>
        Read<IReadOnlyDictionary<string, string>>(() => _db.GetCollection(EncryptedRoomsCollection).FindAll()
            .ToDictionary(d => d["_id"].AsString, d => d["why"].AsString, StringComparer.Ordinal));

    /// <inheritdoc />
    public void AddLearnedEncryptedRoom(string room, string why)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(why);
        Write(() =>
        {
            var collection = _db.GetCollection(EncryptedRoomsCollection);
            if (collection.FindById(room) == null) collection.Insert(new BsonDocument { ["_id"] = room, ["why"] = why });
        });
    }

    /// <inheritdoc />
    public bool ForgetLearnedEncryptedRoom(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        var removed = false;
        Write(() => removed = _db.GetCollection(EncryptedRoomsCollection).Delete(room));
        return removed;
    }
}
