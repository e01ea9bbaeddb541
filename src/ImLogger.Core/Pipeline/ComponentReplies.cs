using System.Xml.Linq;
using ImLogger.Outbound;

namespace ImLogger.Pipeline;

/// <summary>
/// Answers for stanzas addressed to the component itself rather than copies: XMPP requires every
/// iq get/set to be answered. Ping (XEP-0199) and service discovery (XEP-0030) get a result;
/// anything else gets service-unavailable, the error a client shows for "nothing here does that".
/// </summary>
internal static class ComponentReplies
{
    public static XElement? For(XElement stanza)
    {
        if (stanza.Name.LocalName != "iq") return null;
        var type = (string?)stanza.Attribute("type");
        if (type is not ("get" or "set")) return null;
        var payload = stanza.Elements().FirstOrDefault();
        if (type == "get" && payload?.Name == OutboundStanzas.PingNs + "ping") return OutboundStanzas.Result(stanza);
        if (type == "get" && payload?.Name == OutboundStanzas.DiscoInfoNs + "query" && payload.Attribute("node") == null)
            return OutboundStanzas.DiscoInfo(stanza);
        return Error(stanza, "cancel", "service-unavailable");
    }

    /// <summary>An error reply to a request (<see cref="OutboundStanzas.Error"/>): the text, if any, is the component's own.</summary>
    public static XElement Error(XElement request, string type, string condition, string? text = null) =>
        OutboundStanzas.Error(request, type, condition, text);
}
