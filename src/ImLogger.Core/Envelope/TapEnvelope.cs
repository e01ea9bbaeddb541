using System.Xml.Linq;

namespace ImLogger.Envelope;

/// <summary>
/// One stanza of a logged user, as the server copied it to the component (XEP-0297 forward),
/// stamped with the time the component received it (the server's copy carries no timestamp).
/// </summary>
/// <param name="Stanza">The original message, presence or iq, in the jabber:client namespace.</param>
/// <param name="Relay">The server host that made the copy (the outer stanza's from).</param>
/// <param name="ReceivedUtc">When the component read the copy.</param>
public sealed record TapEnvelope(XElement Stanza, string Relay, DateTimeOffset ReceivedUtc)
{
    /// <summary>Inline mode: the real bare JID of the room occupant the stanza comes from or goes to, as the server's room
    /// knows it (the held item's <c>occupant-jid</c>); null otherwise.</summary>
    public string? OccupantJid { get; init; }
}

/// <summary>Why a stanza received on the component stream is not a copy to archive.</summary>
public enum EnvelopeRejection
{
    /// <summary>Not a forwarded copy at all: a stanza addressed to the component itself.</summary>
    NotACopy,
    /// <summary>A copy from a host that is not one of the configured organizations' domains.</summary>
    UntrustedRelay,
    /// <summary>The component's own notice, copied back by the server.</summary>
    OwnStanza,
    /// <summary>A forward without exactly one message/presence/iq inside.</summary>
    Malformed,
}
