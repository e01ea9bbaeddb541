using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Envelope;

namespace ImLogger.Policy;

/// <summary>
/// Which client software each logged user's session runs: the XEP-0115 caps node and hash from its presence,
/// and the XEP-0092 software name and version, which the component asks the client for once per caps hash
/// (clients with the same hash run the same software, so the answer is cached by it).
/// </summary>
public sealed class ClientRegistry(string componentJid)
{
    private static readonly XNamespace Caps = "http://jabber.org/protocol/caps";
    private static readonly XNamespace VersionNs = "jabber:iq:version";
    private const string QueryPrefix = "imlogger-version-";

    /// <summary>What is known of one session's client.</summary>
    public sealed record ClientInfo(string? CapsNode, string? CapsVer, string? Name, string? VersionText, Version? Version, bool Answered, bool Asked)
    {
        public override string ToString() =>
            Name != null ? $"{Name} {VersionText}".TrimEnd() : CapsNode != null ? $"a client identifying as {CapsNode}" : "an unidentified client";
    }

    private readonly ConcurrentDictionary<string, ClientInfo> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string? Name, string? VersionText)> _byCapsVer = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _pending = new(StringComparer.Ordinal); // query id -> full JID

    /// <summary>What is known of the session's client, if anything.</summary>
    public ClientInfo? Get(string fullJid) => _sessions.GetValueOrDefault(fullJid);

    /// <summary>Learns from a logged user's own presence. Returns the version query to send, if the client is not known yet.</summary>
    public XElement? ObservePresence(XElement presence, string fullJid)
    {
        if ((string?)presence.Attribute("type") == "unavailable" && presence.Attribute("to") == null)
        {
            _sessions.TryRemove(fullJid, out _);
            return null;
        }
        var c = presence.Element(Caps + "c");
        var current = _sessions.GetValueOrDefault(fullJid) ?? new ClientInfo(null, null, null, null, null, false, false);
        if (c != null) current = current with { CapsNode = (string?)c.Attribute("node"), CapsVer = (string?)c.Attribute("ver") };
        if (current.CapsVer != null && _byCapsVer.TryGetValue(current.CapsVer, out var known))
            current = current with { Name = known.Name, VersionText = known.VersionText, Version = Parse(known.VersionText), Answered = true };
        _sessions[fullJid] = current;
        return QueryIfUnknown(fullJid);
    }

    /// <summary>A version query for a session whose client is not known and not being asked yet; otherwise null.</summary>
    public XElement? QueryIfUnknown(string fullJid)
    {
        var current = _sessions.GetValueOrDefault(fullJid) ?? new ClientInfo(null, null, null, null, null, false, false);
        if (current.Answered || current.Asked) return null;
        _sessions[fullJid] = current with { Asked = true };
        var id = QueryPrefix + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
        _pending[id] = fullJid;
        return new XElement(Ns.Component + "iq", new XAttribute("type", "get"), new XAttribute("id", id),
            new XAttribute("from", componentJid), new XAttribute("to", fullJid), new XElement(VersionNs + "query"));
    }

    /// <summary>Takes a reply to one of the component's version queries. False if the stanza is not one.</summary>
    public bool ObserveVersionReply(XElement iq)
    {
        if (iq.Name.LocalName != "iq" || (string?)iq.Attribute("id") is not { } id || !id.StartsWith(QueryPrefix, StringComparison.Ordinal)) return false;
        if (!_pending.TryRemove(id, out var fullJid)) return true;
        var query = (string?)iq.Attribute("type") == "result" ? iq.Element(VersionNs + "query") : null;
        var name = (string?)query?.Element(VersionNs + "name");
        var version = (string?)query?.Element(VersionNs + "version");
        var current = _sessions.GetValueOrDefault(fullJid) ?? new ClientInfo(null, null, null, null, null, false, true);
        current = current with { Name = name, VersionText = version, Version = Parse(version), Answered = true };
        _sessions[fullJid] = current;
        if (current.CapsVer != null && query != null) _byCapsVer[current.CapsVer] = (name, version);
        return true;
    }

    private static Version? Parse(string? text) => ApprovedClient.TryParseVersion(text, out var v) ? v : null;
}
