using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ImLogger.Config;

namespace ImLogger.ServerRules;

/// <summary>
/// A short fingerprint of what the server-side rules must say for a config (who is copied or held, and how), written
/// into the rules by <c>imlogger prosody-config</c> and sent back by the loaded rules with every heartbeat: the same
/// value proves that the server runs the rules of the config in force, not those of an older one.
/// </summary>
/// <remarks>Derived from the rules' meaning only: comments, paths and the component secret are left out, so the same
/// config yields the same generation wherever and whenever the rules are written.</remarks>
public static class RulesGeneration
{
    /// <summary>The generation of the rules <paramref name="config"/> needs: 12 hex digits.</summary>
    public static string Of(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var meaning = new StringBuilder();
        // Scaled out, one set of rules serves every instance: the list, not this instance's own JID (docs/scale-out.md).
        meaning.Append(config.Attach.Mode).Append('\n')
            .Append(config.ScaleOut is { } scaleOut ? "scale-out " + string.Join(' ', scaleOut.Components) : config.Component.Jid).Append('\n');
        if (config.Attach.Mode == AttachMode.Tap)
        {
            foreach (var line in ProsodyTapRules.CopyRules(config).Split('\n'))
                if (line.Trim() is { Length: > 0 } rule && !rule.StartsWith('#')) meaning.Append(rule).Append('\n');
        }
        else
        {
            meaning.Append(config.Attach.FailureMode).Append(' ').Append(config.Attach.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)).Append('\n');
            foreach (var org in config.Organizations)
            {
                meaning.Append(string.Join(',', org.Domains)).Append(org.LoggedByDefault ? " all" : " listed").Append('\n');
                foreach (var jid in org.Users.Select(u => u.Jid).Order(StringComparer.Ordinal)) meaning.Append("user ").Append(jid).Append('\n');
                foreach (var jid in org.Exclusions.Order(StringComparer.Ordinal)) meaning.Append("excluded ").Append(jid).Append('\n');
                if (org.ApprovedClients != null)
                    meaning.Append("clients checked at sign-in within ").Append(org.ClientAnswerWithin.TotalSeconds.ToString(CultureInfo.InvariantCulture)).Append('\n');
                // The MUC components that load the group chat module: a host added or removed changes the rules the server
                // must run (left out when there are none, so the generation of a config without them stays what it was).
                if (org.GroupChatHosts.Count > 0)
                    meaning.Append("group chat hosts ").Append(string.Join(',', org.GroupChatHosts.Order(StringComparer.Ordinal))).Append('\n');
            }
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(meaning.ToString())))[..12];
    }
}
