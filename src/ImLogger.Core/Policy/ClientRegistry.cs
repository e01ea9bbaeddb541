using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Envelope;
using ImLogger.Outbound;

namespace ImLogger.Policy;

/// <summary>
/// Which client software each logged user's session runs: the XEP-0115 caps node from its own presence, and the
/// XEP-0092 software name and version, which the component asks each session for, once.
/// </summary>
/// <remarks>
/// What one session declares decides for that session only. Answers are never shared between sessions with the same
/// caps <c>ver</c>: anyone can announce another client's <c>ver</c> (it is public, in every presence), and even a
/// <c>ver</c> verified against the disco#info received (XEP-0115 §5) proves nothing about the version answer, which the
/// hash does not cover; so a shared answer would let one user's client decide for another's. A reply counts only when it
/// answers a query the component sent (its id) and comes from the session asked (its from, stamped by the server).
/// </remarks>
public sealed class ClientRegistry(string componentJid)
{
    private static readonly XNamespace Caps = "http://jabber.org/protocol/caps";
    private const string QueryPrefix = OutboundStanzas.VersionQueryIdPrefix;

    /// <summary>What is known of one session's client.</summary>
    /// <remarks><see cref="ToString"/> quotes what the client declared, cut and with control characters escaped: for
    /// ImLogger's log and the archive, never for a notice or an error text (a client chooses that text).</remarks>
    public sealed record ClientInfo(string? CapsNode, string? CapsVer, string? Name, string? VersionText, Version? Version, bool Answered, bool Asked)
    {
        public override string ToString() =>
            Name != null ? $"a client that calls itself '{Quote($"{Name} {VersionText}".TrimEnd())}'"
            : CapsNode != null ? $"a client identifying as '{Quote(CapsNode)}'" : "an unidentified client";
    }

    private readonly ConcurrentDictionary<string, ClientInfo> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _pending = new(StringComparer.Ordinal); // query id -> full JID asked

    /// <summary>What is known of the session's client, if anything.</summary>
    public ClientInfo? Get(string fullJid) => _sessions.GetValueOrDefault(fullJid);

    /// <summary>Learns from a logged user's own presence. Returns the version query to send, if the session's client is
    /// not known yet.</summary>
    public XElement? ObservePresence(XElement presence, string fullJid)
    {
        ArgumentNullException.ThrowIfNull(presence);
        ArgumentNullException.ThrowIfNull(fullJid);
        if ((string?)presence.Attribute("type") == "unavailable" && presence.Attribute("to") == null)
        {
            _sessions.TryRemove(fullJid, out _);
            return null;
        }
        var c = presence.Element(Caps + "c");
        var current = _sessions.GetValueOrDefault(fullJid) ?? new ClientInfo(null, null, null, null, null, false, false);
        if (c != null) current = current with { CapsNode = (string?)c.Attribute("node"), CapsVer = (string?)c.Attribute("ver") };
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
        return OutboundStanzas.VersionQuery(componentJid, fullJid, id);
    }

    /// <summary>Takes a reply to one of the component's version queries. False if the stanza is not one. A reply from
    /// anyone but the session asked is consumed without effect (the query stays open for the session's own reply).</summary>
    public bool ObserveVersionReply(XElement iq)
    {
        ArgumentNullException.ThrowIfNull(iq);
        if (iq.Name.LocalName != "iq" || (string?)iq.Attribute("id") is not { } id || !id.StartsWith(QueryPrefix, StringComparison.Ordinal)) return false;
        if ((string?)iq.Attribute("type") is not ("result" or "error")) return false; // a request: answered like any other
        if (!_pending.TryGetValue(id, out var fullJid) || !SameJid((string?)iq.Attribute("from"), fullJid)) return true;
        _pending.TryRemove(id, out _);
        var query = (string?)iq.Attribute("type") == "result" ? iq.Element(OutboundStanzas.VersionNs + "query") : null;
        var name = (string?)query?.Element(OutboundStanzas.VersionNs + "name");
        var version = (string?)query?.Element(OutboundStanzas.VersionNs + "version");
        var current = _sessions.GetValueOrDefault(fullJid) ?? new ClientInfo(null, null, null, null, null, false, true);
        _sessions[fullJid] = current with { Name = name, VersionText = version, Version = Parse(version), Answered = true };
        return true;
    }

    /// <summary>Records what a session said when the server asked it at sign-in (docs/inline-protocol.md, "Approved clients at
    /// sign-in"): the session's own answer, read by the server from its own stream. The component then never asks it again,
    /// so a client that would answer differently the second time is judged by its first answer.</summary>
    public void RecordSignIn(string fullJid, string? name, string? versionText, Version? version, string? capsNode, string? capsVer)
    {
        ArgumentNullException.ThrowIfNull(fullJid);
        _sessions[fullJid] = new ClientInfo(capsNode, capsVer, name, versionText, version, Answered: true, Asked: true);
    }

    /// <summary>The same full JID: local part and domain compared without case, the resource exactly.</summary>
    private static bool SameJid(string? a, string b)
    {
        if (a == null) return false;
        var (ia, ib) = (a.IndexOf('/'), b.IndexOf('/'));
        if (ia < 0 || ib < 0) return ia == ib && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
        return string.Equals(a[..ia], b[..ib], StringComparison.OrdinalIgnoreCase) && string.Equals(a[ia..], b[ib..], StringComparison.Ordinal);
    }

    private static Version? Parse(string? text) => ApprovedClient.TryParseVersion(text, out var v) ? v : null;

    /// <summary>A client's text for a log line: at most 80 characters, control characters and quotes escaped.</summary>
    internal static string Quote(string text)
    {
        var sb = new StringBuilder();
        foreach (var ch in text.Length > 80 ? text[..80] : text)
            sb.Append(char.IsControl(ch) || ch == '\'' ? $"\\u{(int)ch:x4}" : ch.ToString());
        return text.Length > 80 ? sb.Append('…').ToString() : sb.ToString();
    }
}
