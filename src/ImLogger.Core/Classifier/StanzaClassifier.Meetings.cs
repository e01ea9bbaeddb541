using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>
    /// XEP-0482 calls to a room (an invite sent to a group chat, or naming a MUJI room) have many participants: the
    /// inviter and everyone who accepts. One participant leaving (left) or declining (reject) does not end it; it ends when
    /// the last participant has left, or when the inviter retracts it. Each participant's copy of a signal counts once.
    /// </summary>
    /// <returns>Null when the session is not a multi-party call (the two-party rules apply).</returns>
    private Classification? MultiPartyCallSignal(TapEnvelope env, Scope scope, string from, string to, string id, SessionLog.Session? session, string action)
    {
        if (session is not { MultiParty: true, Ended: false }) return null;
        var who = scope.SenderBareJid ?? from;
        switch (action)
        {
            case "accept":
            {
                var first = session.AcceptedUtc == null;
                session.Participants.Add(who);
                if (first) return Accepted(env, scope, from, to, id, session, null, "group call joined (XEP-0482 accept)");
                return Classification.Ignored($"{who} joined the group call ({session.Participants.Count} in it)");
            }
            case "left":
                session.Participants.Remove(who);
                if (session.Participants.Count == 0)
                    return Ended(env, scope, from, to, id, session, "left", "group call ended: its last participant left (XEP-0482)");
                return Classification.Ignored($"{who} left the group call ({session.Participants.Count} still in it)");
            case "reject":
                return Classification.Ignored($"{who} declined the group call; it goes on for the others");
            default:
                return null; // retract: the inviter withdraws the call, which ends it for everyone
        }
    }

    /// <summary>
    /// An occupant left the room (<paramref name="leave"/>): they are no longer in any group call of that room, whether or
    /// not their client sent <c>&lt;left&gt;</c> first (a client that crashes or loses its connection never does). A call
    /// whose last participant this was ends here: the room has emptied of the call.
    /// </summary>
    private Classification LeftRoomCalls(TapEnvelope env, Classification leave, string room, string loggedUser, string? realJid, string occupantJid,
        string nick, Direction direction)
    {
        if (leave.Events.Count == 0) return leave;
        string[] who = realJid == null ? [occupantJid] : [realJid, occupantJid];
        var calls = _sessions.CallsWith(room, who);
        if (calls.Count == 0) return leave;
        var events = new List<ConversationEvent>(leave.Events);
        var scope = new Scope(ConversationType.GroupChat, room, direction, [loggedUser], realJid, nick);
        foreach (var (sid, call) in calls)
        {
            foreach (var w in who) call.Participants.Remove(w);
            if (call.Participants.Count > 0) continue;
            var from = direction == Direction.Incoming ? occupantJid : (string?)env.Stanza.Attribute("from") ?? loggedUser;
            events.AddRange(Ended(env, scope, from, room, sid, call, "left", "").Events);
        }
        return events.Count == leave.Events.Count ? leave
            : leave with { Events = events, Reason = leave.Reason + "; a group call in the room ended: its last participant left the room" };
    }
}
