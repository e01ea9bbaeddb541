using ImLogger.Continuity;

namespace ImLogger.Classifier;

/// <summary>The rooms' rosters across restarts: who is in each room logged users are in, which logged users have joined, and
/// the subject, kept in the spool with the calls and notices (<see cref="ContinuityLog"/>). Without it, after a restart the
/// first presence of each occupant read as a join (a second "joined" line in the transcript) and a repeated subject as a
/// change.</summary>
/// <remarks>One record per room, rewritten at the flush after a batch that changed it (joins, leaves, a subject: rarer than
/// messages, which change nothing here) and removed once no logged user is in it. A room not changed for
/// <see cref="KeptFor"/> is forgotten at start: its next presences read as joins again, as before.</remarks>
internal sealed partial class RoomRoster
{
    /// <summary>Record kind of a room's roster.</summary>
    internal const string RosterRecord = "room";

    /// <summary>How long a room's roster not changed is kept across restarts.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(7);

    private readonly HashSet<string> _touched = new(StringComparer.Ordinal);

    private void Touch(string roomBare) => _touched.Add(roomBare);

    /// <summary>Puts back the rooms kept by the previous run, and from now on hands every changed room to
    /// <paramref name="log"/>, which writes them after each batch.</summary>
    /// <returns>How many rooms were put back.</returns>
    public int UseContinuity(ContinuityLog log, DateTimeOffset nowUtc)
    {
        ArgumentNullException.ThrowIfNull(log);
        log.Forget(RosterRecord, nowUtc - KeptFor);
        var restored = 0;
        foreach (var r in log.Loaded.Where(r => r.Kind == RosterRecord))
            if (Restore(r)) restored++;
        _touched.Clear();
        // Written as wall time counted on from the start (the classifier has no clock of its own; a record's time only
        // decides when an unchanged room is forgotten).
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        log.BeforeFlush(() =>
        {
            var atUtc = nowUtc + System.Diagnostics.Stopwatch.GetElapsedTime(started);
            foreach (var roomBare in _touched)
            {
                var id = ContinuityLog.IdOf(RosterRecord, roomBare);
                if (_rooms.TryGetValue(roomBare, out var room)) log.Put(ToRecord(id, roomBare, room, atUtc));
                else log.Remove(id);
            }
            _touched.Clear();
        });
        return restored;
    }

    // Nicks and JIDs never hold control characters (resourceprep and nodeprep prohibit them): tab and newline separate.
    private static ContinuityRecord ToRecord(string id, string roomBare, Room room, DateTimeOffset atUtc) =>
        new(id, RosterRecord, atUtc, new Dictionary<string, string?>
        {
            ["room"] = roomBare,
            ["occupants"] = string.Join('\n', room.Occupants.Select(o => $"{o.Key}\t{o.Value}\t{(room.Hidden.Contains(o.Key) ? "1" : "0")}")),
            ["members"] = string.Join('\n', room.LoggedMembers.Select(m => $"{m.Key}\t{m.Value}")),
            ["subject"] = room.Subject,
        });

    /// <summary>A kept room back in the roster; false when the record is not readable (another version, damaged): that room
    /// then starts empty, as before.</summary>
    private bool Restore(ContinuityRecord r)
    {
        if (r.Fields.GetValueOrDefault("room") is not { Length: > 0 } roomBare || _rooms.ContainsKey(roomBare)) return false;
        var room = new Room { Subject = r.Fields.GetValueOrDefault("subject") };
        foreach (var line in Lines(r.Fields.GetValueOrDefault("members")))
            if (line.Split('\t') is [{ Length: > 0 } user, { Length: > 0 } nick]) room.LoggedMembers[user] = nick;
        if (room.LoggedMembers.Count == 0) return false; // nobody logged in it: nothing would ever keep it current
        foreach (var line in Lines(r.Fields.GetValueOrDefault("occupants")))
        {
            if (line.Split('\t') is not [{ Length: > 0 } nick, var jid, var hidden]) continue;
            room.Occupants[nick] = jid.Length == 0 ? null : jid;
            if (hidden == "1" && jid.Length > 0) room.Hidden.Add(nick);
        }
        _rooms[roomBare] = room;
        return true;
    }

    private static string[] Lines(string? field) => (field ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
