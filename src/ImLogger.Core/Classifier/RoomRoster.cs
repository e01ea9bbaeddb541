namespace ImLogger.Classifier;

/// <summary>
/// What the component knows of the group chats logged users are in, learned from the room's own
/// presence broadcasts (XEP-0045): who is in each room, and which logged users have completed their
/// join (seen their status-110 self-presence). It turns repeated copies of one broadcast (one per
/// logged occupant) into one join or leave, and tells "joined now" from "was already there".
/// </summary>
/// <remarks>Kept in the spool with the other continuity state (RoomRoster.Continuity.cs): after a restart an occupant's
/// first presence is a status change, not a join.</remarks>
internal sealed partial class RoomRoster
{
    /// <summary>What a room presence told the roster (<see cref="Arrive"/>).</summary>
    internal enum Arrival { Known, New, Identified }

    private sealed class Room
    {
        public Dictionary<string, string?> Occupants { get; } = new(StringComparer.Ordinal); // nick -> real bare JID
        public Dictionary<string, string> LoggedMembers { get; } = new(StringComparer.Ordinal); // logged bare JID -> nick
        public HashSet<string> Hidden { get; } = new(StringComparer.Ordinal); // nicks whose real JID only the server's MUC module told
        public string? Subject { get; set; }
    }

    private readonly Dictionary<string, Room> _rooms = new(StringComparer.Ordinal);

    public bool IsKnownRoom(string roomBare) => _rooms.ContainsKey(roomBare);

    public bool HasJoined(string roomBare, string loggedUser) =>
        _rooms.TryGetValue(roomBare, out var r) && r.LoggedMembers.ContainsKey(loggedUser);

    public string? NickOf(string roomBare, string loggedUser) =>
        _rooms.TryGetValue(roomBare, out var r) && r.LoggedMembers.TryGetValue(loggedUser, out var n) ? n : null;

    public string? RealJidOf(string roomBare, string nick) =>
        _rooms.TryGetValue(roomBare, out var r) && r.Occupants.TryGetValue(nick, out var j) ? j : null;

    /// <summary>The real bare JID of an occupant known by nick, and whether the room hides it from its occupants: from the
    /// roster, else from what the server's MUC module said about this stanza (<paramref name="occupantJid"/>, inline mode),
    /// which the room then hides unless it disclosed it in a presence.</summary>
    public (string? RealJid, bool Hidden) Identify(string roomBare, string nick, string? occupantJid)
    {
        if (_rooms.TryGetValue(roomBare, out var r) && r.Occupants.TryGetValue(nick, out var j) && j != null) return (j, r.Hidden.Contains(nick));
        return (occupantJid, occupantJid != null);
    }

    /// <summary>Records an occupant as present. <paramref name="hidden"/>: the real JID came from the server's MUC module, not
    /// from the room's presence (semi-anonymous).</summary>
    /// <returns><see cref="Arrival.New"/> for an occupant not known to be present; <see cref="Arrival.Identified"/> for one
    /// known by nick only whose real JID this copy names (another logged occupant's copy hid it: each logged occupant gets
    /// their own copy of a broadcast, and only a moderator's, or the server's MUC module, names the real JID, in whichever
    /// order they come); <see cref="Arrival.Known"/> otherwise (a repeated copy or a status change).</returns>
    public Arrival Arrive(string roomBare, string nick, string? realJid, bool hidden = false)
    {
        var room = Get(roomBare);
        var known = room.Occupants.TryGetValue(nick, out var before);
        if (known && realJid == null) return Arrival.Known;
        room.Occupants[nick] = realJid;
        // Disclosed in any logged occupant's copy (they are a moderator, say) wins over a copy that hides it.
        var hiddenChanged = hidden && !known ? room.Hidden.Add(nick) : !hidden && realJid != null && room.Hidden.Remove(nick);
        // A status change of a known occupant changes nothing kept: no spool write for it.
        if (!known || before != realJid || hiddenChanged) Touch(roomBare);
        return !known ? Arrival.New : before == null ? Arrival.Identified : Arrival.Known;
    }

    /// <summary>Records an occupant as gone. Returns false if it was not known to be present.</summary>
    public bool Depart(string roomBare, string nick)
    {
        if (!_rooms.TryGetValue(roomBare, out var room) || !(room.Hidden.Remove(nick) | room.Occupants.Remove(nick))) return false;
        Touch(roomBare);
        return true;
    }

    public void SelfJoined(string roomBare, string loggedUser, string nick)
    {
        var members = Get(roomBare).LoggedMembers;
        if (members.TryGetValue(loggedUser, out var known) && known == nick) return;
        members[loggedUser] = nick;
        Touch(roomBare);
    }

    /// <summary>A logged user left: once no logged user is in the room, the component no longer sees its
    /// presence, so its roster is forgotten rather than left to go stale.</summary>
    public void SelfLeft(string roomBare, string loggedUser)
    {
        if (!_rooms.TryGetValue(roomBare, out var room)) return;
        room.LoggedMembers.Remove(loggedUser);
        if (room.LoggedMembers.Count == 0) _rooms.Remove(roomBare);
        Touch(roomBare);
    }

    /// <summary>Records the room's subject. Returns false if it is the one already known (the room announces its
    /// subject to every joining occupant, and each logged party gets a copy of a change); an empty first subject
    /// is no change either.</summary>
    public bool SubjectChanged(string roomBare, string subject)
    {
        if (!_rooms.TryGetValue(roomBare, out var room))
        {
            // Not joined as far as the component knows (e.g. after a restart): remember nothing, record a non-empty subject.
            return subject.Length > 0;
        }
        if (room.Subject == subject) return false;
        if (room.Subject == null && subject.Length == 0) { room.Subject = subject; Touch(roomBare); return false; }
        room.Subject = subject;
        Touch(roomBare);
        return true;
    }

    private Room Get(string roomBare)
    {
        if (!_rooms.TryGetValue(roomBare, out var room)) _rooms[roomBare] = room = new Room();
        return room;
    }
}
