using System.Globalization;
using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

public sealed partial class StanzaClassifier
{
    /// <summary>Logged users between their self-presence in a room and the room's subject: what the room sends them then
    /// is the join history (XEP-0045 §7.2: occupants, self-presence, history, subject).</summary>
    private readonly HashSet<(string Room, string User)> _joinHistory = [];

    /// <summary>When the stanza being classified is replayed room history: the time it was originally said.</summary>
    private DateTimeOffset? _historySaid;

    /// <summary>A logged user's self-presence opened the room's join history for them.</summary>
    private void JoinHistoryOpens(string room, string user) => _joinHistory.Add((room, user));

    /// <summary>
    /// Live versus replayed, for a group chat message a room sends to a logged occupant. A delay (XEP-0203) is history only
    /// when the room stamped it (its <c>from</c> is the room's bare JID: Prosody strips such stamps from what clients send)
    /// or when it arrives in the join history; a delay a client wrote (no <c>from</c>, or a user's) is the sender's claim,
    /// and the message is live. Returns when a replayed message was originally said, or null for a live one.
    /// </summary>
    private DateTimeOffset? ReplayedHistory(TapEnvelope env, string room, string receiver)
    {
        var s = env.Stanza;
        var delays = s.Elements(Ns.Delay + "delay").ToList();
        var inJoinHistory = _joinHistory.Contains((room, receiver));
        // The subject ends the join history; so does anything live.
        if (delays.Count == 0 || s.Element(Ns.Client + "subject") != null) _joinHistory.Remove((room, receiver));
        var stamped = delays.FirstOrDefault(d => JidText.Normalize((string?)d.Attribute("from") ?? "") == room)
                      ?? (inJoinHistory ? delays.FirstOrDefault() : null);
        if (stamped == null) return null;
        return DateTimeOffset.TryParse((string?)stamped.Attribute("stamp"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var said)
            ? said.ToUniversalTime() : env.ReceivedUtc;
    }

    /// <summary>Marks the events of replayed history with when they were said; the transcript shows them as history.</summary>
    private Classification AsHistory(Classification result)
    {
        if (_historySaid is not { } said || result.Events.Count == 0) return result;
        return new Classification([.. result.Events.Select(e => e with { HistorySaidUtc = said })], $"{result.Reason}, replayed as room history on join")
        {
            EncryptedRoom = result.EncryptedRoom,
        };
    }
}
