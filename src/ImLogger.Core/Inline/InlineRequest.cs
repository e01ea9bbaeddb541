using System.Globalization;
using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Inline;

/// <summary>Which way a held stanza travels, seen from the logged user it is held for.</summary>
public enum InlineDirection
{
    /// <summary>Sent by the logged user.</summary>
    Out,
    /// <summary>About to be delivered to the logged user.</summary>
    In,
}

/// <summary>One held stanza in a verdict request (docs/inline-protocol.md).</summary>
/// <param name="Id">The item id, unique within its batch.</param>
/// <param name="Direction">Out or in.</param>
/// <param name="User">The logged user's bare JID the stanza is held for.</param>
/// <param name="ToLocal">Whether the stanza's destination domain is served by the server (false: it would leave it).</param>
/// <param name="Stanza">The stanza as it would be routed (jabber:client).</param>
public sealed record InlineItem(string Id, InlineDirection Direction, string User, bool ToLocal, XElement Stanza)
{
    /// <summary>A restriction the server adapter already enforced on this stanza (<c>restricted="encryption-disabled"</c>):
    /// it was answered or dropped there and is held only to be archived as refused. Null for an ordinary held stanza.</summary>
    public string? Restricted { get; init; }

    /// <summary>The real bare JID of the room occupant the stanza comes from (in) or goes to (out), as the room on the
    /// server knows it (<c>occupant-jid</c>, from mod_imlogger_muc), also where the room hides it from the other occupants.
    /// Null when the server did not say (no such module, not a room occupant).</summary>
    public string? OccupantJid { get; init; }
}

/// <summary>Stanzas that passed unlogged while ImLogger was unreachable in fail-open mode.</summary>
public sealed record InlineGap(string User, int Count, string Since, string Until);

/// <summary>Fail-closed: an earlier request whose stanzas the adapter refused because ImLogger's verdicts did not come
/// in time (<c>&lt;refused request="imlogger-42" count="3" reason="no answer within 10 s"/&gt;</c>). ImLogger may have
/// stored them all the same; it then records that they were not delivered.</summary>
public sealed record InlineRefusal(string RequestId, int Count, string Reason);

/// <summary>
/// A verdict request from the server's inline adapter: <c>&lt;iq type="set"&gt;&lt;batch xmlns="urn:imlogger:inline:0"&gt;</c>.
/// </summary>
public sealed record InlineRequest(XElement Iq, IReadOnlyList<InlineItem> Items, IReadOnlyList<InlineGap> Gaps)
{
    /// <summary>Earlier requests the adapter refused on failure (fail-closed), reported with this one.</summary>
    public IReadOnlyList<InlineRefusal> Refusals { get; init; } = [];

    public static readonly XNamespace Ns = Outbound.OutboundStanzas.InlineNs;

    /// <summary>Reads a request; null if the stanza is not one. Items that are malformed are returned
    /// with a null stanza reason via <paramref name="problems"/> so they can be refused, never dropped.</summary>
    public static InlineRequest? TryParse(XElement iq, out IReadOnlyList<(string ItemId, string Problem)> problems)
    {
        problems = [];
        if (iq.Name.LocalName != "iq" || (string?)iq.Attribute("type") != "set") return null;
        var batch = iq.Element(Ns + "batch");
        if (batch == null) return null;
        var items = new List<InlineItem>();
        var bad = new List<(string, string)>();
        foreach (var item in batch.Elements(Ns + "item"))
        {
            var id = (string?)item.Attribute("id") ?? "";
            var stanza = item.Elements().FirstOrDefault(e => e.Name.LocalName is "message" or "presence" or "iq");
            var direction = (string?)item.Attribute("direction");
            var user = ((string?)item.Attribute("user"))?.ToLowerInvariant();
            if (id.Length == 0 || stanza == null || direction is not ("out" or "in") || string.IsNullOrEmpty(user))
            {
                bad.Add((id, "item without id, direction, user or stanza"));
                continue;
            }
            // Whatever namespace the adapter serialised it in, the pipeline reads client stanzas.
            var copy = new XElement(stanza);
            if (copy.Name.Namespace != Envelope.Ns.Client) Requalify(copy, stanza.Name.Namespace);
            items.Add(new InlineItem(id, direction == "out" ? InlineDirection.Out : InlineDirection.In, user,
                (string?)item.Attribute("to-local") != "false", copy) { Restricted = (string?)item.Attribute("restricted"), OccupantJid = OccupantJidOf(item) });
        }
        var gaps = batch.Elements(Ns + "gap").Select(g => new InlineGap(
            (string?)g.Attribute("user") ?? "?",
            int.TryParse((string?)g.Attribute("count"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0,
            (string?)g.Attribute("since") ?? "?", (string?)g.Attribute("until") ?? "?")).ToList();
        var refusals = batch.Elements(Ns + "refused").Select(r => new InlineRefusal(
            (string?)r.Attribute("request") ?? "",
            int.TryParse((string?)r.Attribute("count"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0,
            (string?)r.Attribute("reason") ?? "no verdict in time")).Where(r => r.RequestId.Length > 0).ToList();
        problems = bad;
        return new InlineRequest(iq, items, gaps) { Refusals = refusals };
    }

    /// <summary>A bare JID the server wrote (it prepped it); anything else (a resource, spaces, markup) is ignored, never trusted.</summary>
    private static string? OccupantJidOf(XElement item) =>
        ((string?)item.Attribute("occupant-jid"))?.ToLowerInvariant() is { } j && Domain.JidText.IsPlainBareJid(j) ? j : null;

    private static void Requalify(XElement e, XNamespace from)
    {
        foreach (var x in e.DescendantsAndSelf().Where(x => x.Name.Namespace == from))
            x.Name = Envelope.Ns.Client + x.Name.LocalName;
    }
}
