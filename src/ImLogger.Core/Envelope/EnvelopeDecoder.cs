using System.Xml.Linq;

namespace ImLogger.Envelope;

/// <summary>
/// Unwraps the server's copies: <c>&lt;message from="example.test"&gt;&lt;forwarded xmlns="urn:xmpp:forward:0"&gt;STANZA&lt;/forwarded&gt;&lt;/message&gt;</c>.
/// Only copies relayed by a trusted host (an organization's domain) are accepted: anyone can send
/// the component a forward, but only the server's own host address is stamped by the server.
/// </summary>
public sealed class EnvelopeDecoder(IEnumerable<string> trustedRelays, string componentJid, TimeProvider time)
{
    private readonly HashSet<string> _trusted = new(trustedRelays.Select(r => r.ToLowerInvariant()), StringComparer.Ordinal);
    private readonly string _component = componentJid.ToLowerInvariant();

    /// <summary>The component's own JID (notices come from it).</summary>
    public string ComponentJid => _component;

    /// <summary>Whether a stanza's <c>from</c> is exactly one of the configured server hosts (an organization's domain):
    /// the one address a client can never send from, since the server stamps every client stanza with the client's own
    /// JID. A user on that host (<c>alice@example.test</c>) or a resource (<c>example.test/x</c>) is not the host.</summary>
    public bool IsServerHost(string? from) => from != null && _trusted.Contains(from.ToLowerInvariant());

    /// <summary>Wraps a stanza the server handed over directly (inline mode), stamped now. A request whose relay is not
    /// <see cref="IsServerHost"/> is refused whole before any item is read, so an untrusted relay here is a bug.</summary>
    /// <exception cref="ArgumentException"><paramref name="relay"/> is not a configured server host.</exception>
    public TapEnvelope Held(XElement stanza, string relay) =>
        IsServerHost(relay) ? new TapEnvelope(stanza, relay.ToLowerInvariant(), time.GetUtcNow())
            : throw new ArgumentException($"held stanzas are read only from a configured server host, not from '{relay}'", nameof(relay));

    /// <summary>Decodes one stanza from the component stream. A copy's stanza is taken out of <paramref name="outer"/>
    /// (moved into the envelope, not cloned), so a second call on the same element finds no copy in it.</summary>
    /// <returns>The envelope, or null with the reason it is not a copy to archive.</returns>
    public (TapEnvelope? Envelope, EnvelopeRejection Rejection, string Reason) Decode(XElement outer)
    {
        var forwarded = outer.Name.LocalName == "message" ? outer.Element(Ns.Forward + "forwarded") : null;
        if (forwarded == null)
            return (null, EnvelopeRejection.NotACopy, $"{outer.Name.LocalName} from {(string?)outer.Attribute("from") ?? "(no from)"} is addressed to the component, not a copy");

        var relay = ((string?)outer.Attribute("from") ?? "").ToLowerInvariant();
        if (!_trusted.Contains(relay))
            return (null, EnvelopeRejection.UntrustedRelay, $"copy relayed by '{relay}', which is not a configured organization domain; ignored");

        XElement? stanza = null;
        var stanzas = 0;
        foreach (var e in forwarded.Elements())
        {
            if (e.Name.LocalName is not ("message" or "presence" or "iq")) continue;
            stanza ??= e;
            stanzas++;
        }
        if (stanzas != 1 || stanza!.Name.Namespace != Ns.Client)
            return (null, EnvelopeRejection.Malformed, "forwarded copy does not hold exactly one jabber:client stanza");

        var from = ((string?)stanza.Attribute("from") ?? "").ToLowerInvariant();
        if (from == _component || from.EndsWith("@" + _component, StringComparison.Ordinal) || from.StartsWith(_component + "/", StringComparison.Ordinal)
            || from.Contains("@" + _component + "/", StringComparison.Ordinal))
            return (null, EnvelopeRejection.OwnStanza, "the component's own stanza, copied back by the server");

        // Taken out of the copy rather than cloned (a clone is a second tree per stanza): the envelope's stanza stands
        // alone, as the server's original did, and the outer copy is of no further use.
        stanza.Remove();
        return (new TapEnvelope(stanza, relay, time.GetUtcNow()), default, "");
    }
}
