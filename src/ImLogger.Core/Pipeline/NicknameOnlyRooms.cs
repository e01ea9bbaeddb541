using ImLogger.Conversations;
using Microsoft.Extensions.Logging;

namespace ImLogger.Pipeline;

/// <summary>
/// Says once per room, at WARN, that a room's occupants can be archived by nickname only: the room hides their real JIDs
/// from the logged users in it (semi-anonymous, Prosody's default) and nothing else named them (tap mode, or inline mode
/// with a MUC component that does not load the group chat module). Such occupants cannot be told the room is logged.
/// </summary>
/// <remarks>Once per room for the life of the process (a restart says it again); at most <see cref="MaxRooms"/> rooms are
/// named, the last warning saying that no more will follow, so a flood of rooms cannot flood the log.</remarks>
internal sealed class NicknameOnlyRooms(ILogger logger)
{
    /// <summary>Rooms warned about before the warnings stop.</summary>
    public const int MaxRooms = 1000;

    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);

    /// <summary>Warns about each room of <paramref name="events"/> where an occupant other than a logged user is known by
    /// nickname only, the first time.</summary>
    public void Observe(IReadOnlyList<ConversationEvent> events)
    {
        HashSet<(string, string)>? named = null;
        foreach (var e in events)
        {
            if (e.ConversationType != ConversationType.GroupChat || e.Direction != Direction.Incoming || e.Nick == null || e.SenderBareJid != null
                || e.Kind is not (EventKind.Joined or EventKind.Present or EventKind.Message) || _warned.Count >= MaxRooms || _warned.Contains(e.ConversationKey))
                continue;
            // Another logged occupant's copy in the same batch names them (a moderator's): nothing to warn about.
            named ??= events.Where(x => x.ConversationType == ConversationType.GroupChat && x.Nick != null && x.SenderBareJid != null)
                .Select(x => (x.ConversationKey, x.Nick!)).ToHashSet();
            if (named.Contains((e.ConversationKey, e.Nick)) || !_warned.Add(e.ConversationKey)) continue;
            var host = e.ConversationKey[(e.ConversationKey.IndexOf('@') + 1)..];
            logger.LogWarning(
                "Room {Room}: occupant \"{Nick}\" can be archived by nickname only and cannot be told the room is logged: the room hides real JIDs " +
                "from the logged users in it (semi-anonymous, Prosody's default). In inline mode, name the MUC component in " +
                "<organization group-chat-hosts=\"{Host}\"> and load the rules `imlogger server-config` writes (it loads the group chat module there); " +
                "tap mode learns real JIDs only from a logged user who is a moderator of the room (or set muc_room_default_public_jids = true on the " +
                "component). Said once per room{More}",
                e.ConversationKey, e.Nick, host, _warned.Count == MaxRooms ? $"; this is room {MaxRooms}: no more rooms will be named until restart." : ".");
        }
    }
}
