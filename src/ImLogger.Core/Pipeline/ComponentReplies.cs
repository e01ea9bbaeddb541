using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Pipeline;

/// <summary>
/// Answers for stanzas addressed to the component itself rather than copies: XMPP requires every
/// iq get/set to be answered. Ping (XEP-0199) and service discovery (XEP-0030) get a result;
/// anything else gets service-unavailable, the error a client shows for "nothing here does that".
/// </summary>
internal static class ComponentReplies
{
    private static readonly XNamespace Ping = "urn:xmpp:ping";
    private static readonly XNamespace DiscoInfo = "http://jabber.org/protocol/disco#info";

    public static XElement? For(XElement stanza)
    {
        if (stanza.Name.LocalName != "iq") return null;
        var type = (string?)stanza.Attribute("type");
        if (type is not ("get" or "set")) return null;
        var reply = new XElement(Ns.Component + "iq",
            new XAttribute("type", "result"),
            new XAttribute("id", (string?)stanza.Attribute("id") ?? ""),
            new XAttribute("from", (string?)stanza.Attribute("to") ?? ""),
            new XAttribute("to", (string?)stanza.Attribute("from") ?? ""));
        var payload = stanza.Elements().FirstOrDefault();
        if (type == "get" && payload?.Name == Ping + "ping") return reply;
        if (type == "get" && payload?.Name == DiscoInfo + "query" && payload.Attribute("node") == null)
        {
            reply.Add(new XElement(DiscoInfo + "query",
                new XElement(DiscoInfo + "identity", new XAttribute("category", "component"), new XAttribute("type", "archive"), new XAttribute("name", "ImLogger compliance archive")),
                new XElement(DiscoInfo + "feature", new XAttribute("var", DiscoInfo.NamespaceName)),
                new XElement(DiscoInfo + "feature", new XAttribute("var", Ping.NamespaceName))));
            return reply;
        }
        return Error(stanza, "cancel", "service-unavailable");
    }

    /// <summary>An error reply to a request. The request's payload is not echoed (RFC 6120 allows it, but nothing the
    /// component sends carries text a client chose) and the text, if any, is the component's own.</summary>
    public static XElement Error(XElement request, string type, string condition, string? text = null) =>
        new(Ns.Component + "iq",
            new XAttribute("type", "error"),
            new XAttribute("id", (string?)request.Attribute("id") ?? ""),
            new XAttribute("from", (string?)request.Attribute("to") ?? ""),
            new XAttribute("to", (string?)request.Attribute("from") ?? ""),
            new XElement(Ns.Component + "error", new XAttribute("type", type),
                new XElement(Ns.Stanzas + condition),
                text == null ? null : new XElement(Ns.Stanzas + "text", new XAttribute(XNamespace.Xml + "lang", "en"), text)));
}
