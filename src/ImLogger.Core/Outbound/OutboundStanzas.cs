using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Outbound;

/// <summary>
/// Every stanza ImLogger sends to the server, built in one place: one method per kind, each with its exact XML (namespaces,
/// attribute order, ids) fixed by a unit test (OutboundStanzasTests), because the Prosody and ejabberd modules read them
/// (docs/inline-protocol.md). Text is only ever element content or attribute values, so LINQ to XML escapes whatever it
/// holds; nothing a client chose is echoed back (requests' payloads are never copied).
/// </summary>
/// <remarks>Depends on nothing of Core but <see cref="Ns"/>: every stage may use it without forming a cycle.</remarks>
public static partial class OutboundStanzas
{
    /// <summary>The inline protocol's namespace (docs/inline-protocol.md): verdicts, client checks, heartbeats, seats.</summary>
    public static readonly XNamespace InlineNs = "urn:imlogger:inline:0";

    /// <summary>The tap heartbeat's payload namespace.</summary>
    public static readonly XNamespace TapNs = "urn:imlogger:tap:0";

    /// <summary>XEP-0092 software version.</summary>
    public static readonly XNamespace VersionNs = "jabber:iq:version";

    /// <summary>XEP-0030 service discovery (info).</summary>
    public static readonly XNamespace DiscoInfoNs = "http://jabber.org/protocol/disco#info";

    /// <summary>XEP-0199 ping.</summary>
    public static readonly XNamespace PingNs = "urn:xmpp:ping";

    /// <summary>Ids of archive notices ("this conversation is logged"): the notifier sends them, the ingest loop and the
    /// notifier recognise their outcomes and bounces by it.</summary>
    public const string NoticeIdPrefix = "imlogger-notice-";

    /// <summary>Ids of refusal notices to a logged user whose held stanza was refused.</summary>
    public const string RefusalIdPrefix = "imlogger-refusal-";

    /// <summary>Ids of the version queries sent to learn a session's client.</summary>
    public const string VersionQueryIdPrefix = "imlogger-version-";

    /// <summary>Ids of tap heartbeats.</summary>
    public const string HeartbeatIdPrefix = "imlogger-alive-";

    /// <summary>Ids of the "seats changed" signals to the inline adapter.</summary>
    public const string SeatsChangedIdPrefix = "imlogger-seats-";

    /// <summary>A new id with <paramref name="prefix"/> (a GUID in "N" format after it).</summary>
    public static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");

    /// <summary>An archive notice: a chat message from the component, id <see cref="NoticeIdPrefix"/>.</summary>
    public static XElement Notice(string componentJid, string to, string text) => ChatMessage(componentJid, to, NewId(NoticeIdPrefix), text);

    /// <summary>A refusal notice to the logged user whose held stanza was refused, id <see cref="RefusalIdPrefix"/>.</summary>
    public static XElement RefusalNotice(string componentJid, string to, string text) => ChatMessage(componentJid, to, NewId(RefusalIdPrefix), text);

    private static XElement ChatMessage(string from, string to, string id, string text) =>
        new(Ns.Component + "message",
            new XAttribute("from", from), new XAttribute("to", to), new XAttribute("type", "chat"),
            new XAttribute("id", id),
            new XElement(Ns.Component + "body", text));

    /// <summary>A XEP-0092 version query to a session, with the id the caller keeps to match the answer.</summary>
    public static XElement VersionQuery(string componentJid, string fullJid, string id) =>
        new(Ns.Component + "iq", new XAttribute("type", "get"), new XAttribute("id", id),
            new XAttribute("from", componentJid), new XAttribute("to", fullJid), new XElement(VersionNs + "query"));

    /// <summary>The tap heartbeat: a headline (never bounced, never shown) that only the tap rules route back.</summary>
    public static XElement TapHeartbeat(string componentJid, string to) =>
        new(Ns.Component + "message",
            new XAttribute("type", "headline"),
            new XAttribute("id", NewId(HeartbeatIdPrefix)),
            new XAttribute("from", componentJid),
            new XAttribute("to", to),
            new XElement(TapNs + "alive"));

    /// <summary>Tells the inline adapter of <paramref name="domain"/> that the seats changed (it holds again the users it was
    /// told hold none).</summary>
    public static XElement SeatsChanged(string componentJid, string domain) =>
        new(Ns.Component + "iq",
            new XAttribute("type", "set"),
            new XAttribute("id", NewId(SeatsChangedIdPrefix)),
            new XAttribute("from", componentJid),
            new XAttribute("to", domain),
            new XElement(InlineNs + "seats-changed"));

    /// <summary>An empty result to an iq request: its id, from the address it was sent to (or <paramref name="from"/>),
    /// to its sender; <paramref name="payload"/> inside when given.</summary>
    public static XElement Result(XElement request, string? from = null, XElement? payload = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new XElement(Ns.Component + "iq",
            new XAttribute("type", "result"),
            new XAttribute("id", (string?)request.Attribute("id") ?? ""),
            new XAttribute("from", from ?? (string?)request.Attribute("to") ?? ""),
            new XAttribute("to", (string?)request.Attribute("from") ?? ""),
            payload);
    }

    /// <summary>An error reply to an iq request (RFC 6120 §8.3): a defined condition and optionally ImLogger's own text. The
    /// request's payload is not echoed (RFC 6120 allows it, but nothing the component sends carries text a client chose).</summary>
    public static XElement Error(XElement request, string type, string condition, string? text = null, string? from = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new XElement(Ns.Component + "iq",
            new XAttribute("type", "error"),
            new XAttribute("id", (string?)request.Attribute("id") ?? ""),
            new XAttribute("from", from ?? (string?)request.Attribute("to") ?? ""),
            new XAttribute("to", (string?)request.Attribute("from") ?? ""),
            new XElement(Ns.Component + "error", new XAttribute("type", type),
                new XElement(Ns.Stanzas + condition),
                text == null ? null : new XElement(Ns.Stanzas + "text", new XAttribute(XNamespace.Xml + "lang", "en"), text)));
    }

    /// <summary>The component's XEP-0030 identity and features, answering a disco#info query without a node.</summary>
    public static XElement DiscoInfo(XElement request) =>
        Result(request, payload: new XElement(DiscoInfoNs + "query",
            new XElement(DiscoInfoNs + "identity", new XAttribute("category", "component"), new XAttribute("type", "archive"), new XAttribute("name", "ImLogger compliance archive")),
            new XElement(DiscoInfoNs + "feature", new XAttribute("var", DiscoInfoNs.NamespaceName)),
            new XElement(DiscoInfoNs + "feature", new XAttribute("var", PingNs.NamespaceName))));

    /// <summary>The answer to a verdict request (docs/inline-protocol.md): one allow or deny per held item, in order.</summary>
    public static XElement Verdicts(XElement request, IEnumerable<ItemVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        var container = new XElement(InlineNs + "verdicts");
        var compact = AsksCompactAllows(request) ? new List<string>() : null;
        foreach (var v in verdicts)
        {
            if (compact != null && IsCompactAllow(v)) { compact.Add(v.ItemId); continue; }
            container.Add(v.Allowed
                ? new XElement(InlineNs + "allow", new XAttribute("item", v.ItemId), v.Unlogged ? new XAttribute("unlogged", "true") : null)
                : new XElement(InlineNs + "deny", new XAttribute("item", v.ItemId), new XAttribute("type", v.ErrorType ?? "cancel"),
                    new XAttribute("condition", v.Condition ?? "policy-violation"),
                    new XElement(InlineNs + "text", new XAttribute(XNamespace.Xml + "lang", "en"), v.Text ?? "")));
        }
        if (compact is { Count: > 0 }) container.SetAttributeValue("allow", string.Join(' ', compact));
        return Result(request, payload: container);
    }

    /// <summary>The answer to a sign-in client check: <c>&lt;client-verdict allow="true"/&gt;</c>, or <c>allow="false"</c>
    /// with the text the adapter sends the session before it closes it (also the stream error's text).</summary>
    public static XElement ClientVerdict(XElement request, bool allow, string? text) =>
        Result(request, payload: new XElement(InlineNs + "client-verdict", new XAttribute("allow", allow ? "true" : "false"),
            allow || text == null ? null : new XElement(InlineNs + "text", new XAttribute(XNamespace.Xml + "lang", "en"), text)));
}

/// <summary>One held item's verdict as the wire carries it (<see cref="OutboundStanzas.Verdicts"/>).</summary>
/// <param name="ItemId">The item's id in the request.</param>
/// <param name="Allowed">Allow, or deny.</param>
/// <param name="Unlogged">Allowed, and the held-for user holds no seat.</param>
/// <param name="ErrorType">Deny: the RFC 6120 error type ("cancel" when null).</param>
/// <param name="Condition">Deny: the RFC 6120 condition ("policy-violation" when null).</param>
/// <param name="Text">Deny: the text the sender's client shows.</param>
public readonly record struct ItemVerdict(string ItemId, bool Allowed, bool Unlogged = false, string? ErrorType = null, string? Condition = null, string? Text = null);
