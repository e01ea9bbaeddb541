using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Inline;

/// <summary>
/// A decision on one held stanza: allow, or deny with an RFC 6120 stanza error (type, condition) and a
/// text the sender's client shows, the rule that decided it, and an optional notice for the logged user.
/// </summary>
public sealed record InlineVerdict(bool Allowed, string Rule, string? ErrorType = null, string? Condition = null, string? Text = null, string? NoticeToLoggedUser = null)
{
    public static readonly InlineVerdict Allow = new(true, "allowed");

    /// <summary>Allowed, and the held-for user holds no seat (an organization logged by default, over its limit): the
    /// adapter may stop holding their stanzas until the seats change (<see cref="SeatsChanged"/>).</summary>
    public static readonly InlineVerdict AllowUnlogged = new(true, "not-logged") { Unlogged = true };

    /// <summary>What ImLogger's log and the archive say beyond <see cref="Text"/> (what a client declared, say); never sent
    /// to anyone.</summary>
    public string? Detail { get; init; }

    /// <summary>The held-for user is not logged (see <see cref="AllowUnlogged"/>).</summary>
    public bool Unlogged { get; init; }

    public static InlineVerdict Deny(string rule, string condition, string text, string? notice = null, string type = "cancel") =>
        new(false, rule, type, condition, text, notice);

    /// <summary>The answer to a request: one allow or deny per item.</summary>
    public static XElement Response(InlineRequest request, IEnumerable<(string ItemId, InlineVerdict Verdict)> verdicts)
    {
        var container = new XElement(InlineRequest.Ns + "verdicts");
        foreach (var (id, v) in verdicts)
        {
            container.Add(v.Allowed
                ? new XElement(InlineRequest.Ns + "allow", new XAttribute("item", id), v.Unlogged ? new XAttribute("unlogged", "true") : null)
                : new XElement(InlineRequest.Ns + "deny", new XAttribute("item", id), new XAttribute("type", v.ErrorType ?? "cancel"),
                    new XAttribute("condition", v.Condition ?? "policy-violation"),
                    new XElement(InlineRequest.Ns + "text", new XAttribute(XNamespace.Xml + "lang", "en"), v.Text ?? "")));
        }
        return new XElement(Ns.Component + "iq",
            new XAttribute("type", "result"),
            new XAttribute("id", (string?)request.Iq.Attribute("id") ?? ""),
            new XAttribute("from", (string?)request.Iq.Attribute("to") ?? ""),
            new XAttribute("to", (string?)request.Iq.Attribute("from") ?? ""),
            container);
    }

    /// <summary>Tells the adapter on each host of an organization logged by default that the seats changed, so it
    /// holds again the users it was told hold none: sent when the component connects and after every reload.</summary>
    public static IReadOnlyList<XElement> SeatsChanged(Config.ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Attach.Mode != Config.AttachMode.Inline) return [];
        return config.Organizations.Where(o => o.LoggedByDefault).SelectMany(o => o.Domains).Select(domain =>
            new XElement(Ns.Component + "iq",
                new XAttribute("type", "set"),
                new XAttribute("id", "imlogger-seats-" + Guid.NewGuid().ToString("N")),
                new XAttribute("from", config.Component.Jid),
                new XAttribute("to", domain),
                new XElement(InlineRequest.Ns + "seats-changed"))).ToList();
    }
}
