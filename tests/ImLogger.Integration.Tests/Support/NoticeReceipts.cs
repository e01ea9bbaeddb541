using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace ImLogger.Integration.Tests.Support;

/// <summary>The notices a real client received, counted from every stanza it got (not from slixmpp's message list, which
/// folds identical group chat messages into one and so would hide a notice told twice through the room).</summary>
internal static class NoticeReceipts
{
    /// <summary>The bodies of the notices <paramref name="who"/> received: messages whose id ImLogger gave them
    /// (imlogger-notice-...), whether from the component itself or delivered by the room to an occupant whose real JID it
    /// hides. Error bounces are not notices received.</summary>
    public static string[] Of(JsonObject raw, string who) =>
        (raw[ClientScenario.Jid(who)]?.AsArray() ?? [])
            .Select(x => (string?)x ?? "")
            .Where(x => x.StartsWith("<message", StringComparison.Ordinal) && x.Contains("imlogger-notice-", StringComparison.Ordinal))
            .Select(XElement.Parse)
            .Where(m => (string?)m.Attribute("type") != "error")
            .Select(m => m.Elements().FirstOrDefault(e => e.Name.LocalName == "body")?.Value ?? "")
            .ToArray();
}
