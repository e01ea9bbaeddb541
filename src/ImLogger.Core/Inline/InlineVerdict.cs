using System.Xml.Linq;
using ImLogger.Domain;
using ImLogger.Outbound;

namespace ImLogger.Inline;

/// <summary>
/// A decision on one held stanza: allow, or deny with an RFC 6120 stanza error (type, condition) and a
/// text the sender's client shows, the rule that decided it (null when allowed), and an optional notice for the logged user.
/// </summary>
public sealed record InlineVerdict(bool Allowed, RefusalRule? Rule, string? ErrorType = null, string? Condition = null, string? Text = null, string? NoticeToLoggedUser = null)
{
    public static readonly InlineVerdict Allow = new(true, null);

    /// <summary>Allowed, and the held-for user holds no seat (an organization logged by default, over its limit): the
    /// adapter may stop holding their stanzas until the seats change (<see cref="SeatsChanged"/>).</summary>
    public static readonly InlineVerdict AllowUnlogged = new(true, null) { Unlogged = true };

    /// <summary>What ImLogger's log and the archive say beyond <see cref="Text"/> (what a client declared, say); never sent
    /// to anyone.</summary>
    public string? Detail { get; init; }

    /// <summary>The held-for user is not logged (see <see cref="AllowUnlogged"/>).</summary>
    public bool Unlogged { get; init; }

    public static InlineVerdict Deny(RefusalRule rule, string condition, string text, string? notice = null, string type = "cancel") =>
        new(false, rule, type, condition, text, notice);

    /// <summary>The answer to a request: one allow or deny per item (<see cref="OutboundStanzas.Verdicts"/>).</summary>
    public static XElement Response(InlineRequest request, IEnumerable<(string ItemId, InlineVerdict Verdict)> verdicts)
    {
        ArgumentNullException.ThrowIfNull(request);
        return OutboundStanzas.Verdicts(request.Iq,
            verdicts.Select(x => new ItemVerdict(x.ItemId, x.Verdict.Allowed, x.Verdict.Unlogged, x.Verdict.ErrorType, x.Verdict.Condition, x.Verdict.Text)));
    }

    /// <summary>Tells the adapter on each host of an organization logged by default that the seats changed, so it
    /// holds again the users it was told hold none: sent when the component connects and after every reload.</summary>
    public static IReadOnlyList<XElement> SeatsChanged(Config.ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Attach.Mode != Config.AttachMode.Inline) return [];
        return config.Organizations.Where(o => o.LoggedByDefault).SelectMany(o => o.Domains)
            .Select(domain => OutboundStanzas.SeatsChanged(config.Component.Jid, domain)).ToList();
    }
}
