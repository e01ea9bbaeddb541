using System.Xml.Linq;
using ImLogger.Envelope;
using ImLogger.Outbound;
using ImLogger.ServerRules;

namespace ImLogger.Liveness;

/// <summary>A sign of life of the server side on one domain: its rules' generation and what it said about itself.</summary>
/// <param name="Domain">The organization domain (the host JID) the sign came from.</param>
/// <param name="Generation">The generation of the rules it runs (<see cref="RulesGeneration"/>); empty when it sent none.</param>
/// <param name="Detail">For the log: module version, stanzas held, why it spoke.</param>
public sealed record AdapterSign(string Domain, string Generation, string Detail);

/// <summary>What <see cref="AdapterSignal.Read"/> made of a stanza that is a sign of life, or claims to be one.</summary>
/// <param name="Sign">The sign, when it came from a configured organization domain; null otherwise.</param>
/// <param name="Reply">The iq answer owed to the sender (inline), if any.</param>
/// <param name="Rejected">Why a claimed sign was ignored (an untrusted sender), for a warning.</param>
public sealed record AdapterSignalResult(AdapterSign? Sign, XElement? Reply, string? Rejected);

/// <summary>
/// The two ways the server side says it is loaded (docs/admin-guide.md, "Is the server side loaded?"):
/// <list type="bullet">
/// <item>inline: mod_imlogger_inline sends <c>&lt;iq type="set" from="example.test"&gt;&lt;alive xmlns="urn:imlogger:inline:0"
/// version="1" generation="…" held="0" reason="heartbeat"/&gt;&lt;/iq&gt;</c> when it loads, when the component connects and every
/// heartbeat; ImLogger answers with a result.</item>
/// <item>tap: ImLogger sends <see cref="TapHeartbeat"/> to <c>example.test/imlogger-alive</c>; the firewall rules forward it back
/// to <c>archive.example.test/imlogger-rules-GENERATION</c> (<see cref="ProsodyTapRules"/>).</item>
/// </list>
/// Only the host JID of a configured organization domain, exactly, is believed: the server stamps it, no client can.
/// </summary>
public static class AdapterSignal
{
    /// <summary>The inline protocol's namespace (docs/inline-protocol.md).</summary>
    public static readonly XNamespace InlineNs = OutboundStanzas.InlineNs;

    /// <summary>The tap heartbeat's payload namespace.</summary>
    public static readonly XNamespace TapNs = OutboundStanzas.TapNs;

    /// <summary>Ids of tap heartbeats start with this.</summary>
    public const string HeartbeatIdPrefix = OutboundStanzas.HeartbeatIdPrefix;

    /// <summary>The tap heartbeat to one domain: a headline (never bounced, never shown) that only the rules route back.</summary>
    public static XElement TapHeartbeat(string componentJid, string domain) =>
        OutboundStanzas.TapHeartbeat(componentJid, $"{domain}/{ProsodyTapRules.HeartbeatResource}");

    /// <summary>Reads a sign of life; null when the stanza neither is nor claims to be one (it goes to the pipeline).</summary>
    /// <param name="stanza">A stanza read from the component stream.</param>
    /// <param name="domains">The configured organization domains (lower case).</param>
    /// <param name="componentJid">ImLogger's component JID.</param>
    public static AdapterSignalResult? Read(XElement stanza, IReadOnlySet<string> domains, string componentJid)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        ArgumentNullException.ThrowIfNull(domains);
        var from = (string?)stanza.Attribute("from") ?? "";
        if (stanza.Name.LocalName == "iq" && (string?)stanza.Attribute("type") == "set" && stanza.Element(InlineNs + "alive") is { } alive)
        {
            if (!domains.Contains(from))
                return new AdapterSignalResult(null, Error(stanza, componentJid),
                    $"an adapter heartbeat from '{Clean(from, 100)}', which is not a configured organization domain (only the host JID itself is trusted); ignored");
            var detail = $"mod_imlogger_inline {Clean((string?)alive.Attribute("version"))}, {Clean((string?)alive.Attribute("held"))} stanza(s) held, {Clean((string?)alive.Attribute("reason"))}";
            return new AdapterSignalResult(new AdapterSign(from, Clean((string?)alive.Attribute("generation"), keepEmpty: true), detail), Result(stanza, componentJid), null);
        }
        if (stanza.Name.LocalName != "message" || stanza.Element(Ns.Forward + "forwarded") is not { } forwarded) return null;
        var inner = forwarded.Element(Ns.Client + "message");
        if (inner == null || inner.Element(TapNs + "alive") == null || (string?)inner.Attribute("from") != componentJid) return null;
        // From here on it is our own heartbeat, copied back: it is never archived, whoever relayed it.
        var to = (string?)stanza.Attribute("to") ?? "";
        var marker = $"{componentJid}/{ProsodyTapRules.GenerationResourcePrefix}";
        if (!domains.Contains(from) || (string?)inner.Attribute("to") != $"{from}/{ProsodyTapRules.HeartbeatResource}" || !to.StartsWith(marker, StringComparison.Ordinal))
            return new AdapterSignalResult(null, null, $"a heartbeat relayed by '{Clean(from, 100)}' to '{Clean(to, 200)}', which is not how a configured domain's rules return it; ignored");
        return new AdapterSignalResult(new AdapterSign(from, Clean(to[marker.Length..], keepEmpty: true), "tap rules (mod_firewall)"), null, null);
    }

    private static XElement Result(XElement iq, string componentJid) => OutboundStanzas.Result(iq, from: componentJid);

    private static XElement Error(XElement iq, string componentJid) => OutboundStanzas.Error(iq, "auth", "not-authorized", from: componentJid);

    /// <summary>What the adapter says about itself goes into ImLogger's log: letters, digits and a few signs, bounded.</summary>
    private static string Clean(string? text, int max = 40, bool keepEmpty = false)
    {
        var kept = new string((text ?? "").Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@' or '/').Take(max).ToArray());
        return kept.Length > 0 || keepEmpty ? kept : "?";
    }
}
