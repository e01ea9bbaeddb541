using System.Text;
using ImLogger.Config;

namespace ImLogger.ServerRules;

/// <summary>The group chat side of inline mode: mod_imlogger_muc on the MUC components that logged users use
/// (<c>&lt;organization group-chat-hosts="..."&gt;</c>), so that occupants of semi-anonymous rooms are archived with their
/// real JID and told the room is logged (docs/inline-protocol.md, "Group chats").</summary>
public static partial class ProsodyInlineRules
{
    /// <summary>The group chat module's file name; Prosody loads it as "imlogger_muc".</summary>
    public const string MucModuleFileName = "mod_imlogger_muc.lua";

    /// <summary>The Lua source of the group chat module (integrations/prosody/mod_imlogger_muc.lua, embedded at build time).</summary>
    public static string MucModuleSource()
    {
        using var stream = typeof(ProsodyInlineRules).Assembly.GetManifestResourceStream(MucModuleFileName)
            ?? throw new InvalidOperationException($"{MucModuleFileName} is not embedded in this build of ImLogger");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>One Component section per group chat host of any organization. Declaring the component again with
    /// "muc" keeps it a MUC service (Prosody merges the sections); a modules_enabled set for it after this Include
    /// would replace this one, as for the VirtualHosts.</summary>
    private static void GroupChatSections(ImLoggerConfig config, StringBuilder sb)
    {
        var hosts = config.Organizations.SelectMany(o => o.GroupChatHosts).Distinct(StringComparer.Ordinal).ToList();
        if (hosts.Count == 0)
        {
            sb.AppendLine();
            sb.AppendLine("-- No group-chat-hosts in the ImLogger config: occupants of semi-anonymous rooms (Prosody's default) are archived by");
            sb.AppendLine("-- nickname only and cannot be told the room is logged. Name your MUC components in <organization group-chat-hosts=\"...\">.");
            return;
        }
        foreach (var host in hosts)
        {
            sb.AppendLine();
            sb.AppendLine("-- Group chats: real JIDs of occupants for the archive, and ImLogger's notices to occupants by nickname.");
            sb.AppendLine("-- If prosody.cfg.lua sets modules_enabled for this component, add \"imlogger_muc\" there instead.");
            sb.AppendLine($"Component {Lua(host)} \"muc\"");
            sb.AppendLine("\tmodules_enabled = { \"imlogger_muc\" }");
            sb.AppendLine($"\timlogger_component = {Lua(config.Component.Jid)}");
        }
    }
}
