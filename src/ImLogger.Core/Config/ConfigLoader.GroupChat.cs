using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>group-chat-hosts="conference.example.test"</c>: MUC components, one or more, separated by spaces. A
        /// group chat host is a service, not a user domain: naming one of the organization's own domains is a slip.</summary>
        private List<string> ReadGroupChatHosts(XElement e, IReadOnlyList<string> domains)
        {
            var attr = e.Attribute("group-chat-hosts");
            if (attr == null) return [];
            var hosts = new List<string>();
            foreach (var token in attr.Value.Split([' ', ',', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                var h = token.ToLowerInvariant();
                if (h.Contains('@') || h.Contains('/') || h.Contains('"') || h.Contains('\\'))
                    throw Error(attr, $"group chat host '{h}' must be a MUC component's domain such as conference.example.test (no user part, no resource)");
                if (domains.Contains(h))
                    throw Error(attr, $"group chat host '{h}' is one of the organization's user domains; give the MUC component's domain, such as conference.{h}");
                if (!hosts.Contains(h)) hosts.Add(h);
            }
            if (hosts.Count == 0) throw Error(attr, "group-chat-hosts must name at least one MUC component, such as conference.example.test (or be left out)");
            return hosts;
        }
    }
}
