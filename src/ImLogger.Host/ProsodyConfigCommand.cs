using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Host;

/// <summary><c>imlogger prosody-config</c>: what the operator adds to Prosody, for tap or inline mode.</summary>
internal static class ProsodyConfigCommand
{
    public static int Run(ImLoggerConfig config, Arguments args)
    {
        if (args.Out != null)
        {
            IReadOnlyList<string> written;
            try
            {
                written = ServerRulesWriter.Write(config, args.Out);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"imlogger: cannot write the Prosody files into {args.Out}: {e.Message}");
                return 1;
            }
            Console.WriteLine($"Wrote {string.Join(" and ", written)}.");
            Console.WriteLine($"Add  Include \"{written[0]}\"  at the end of prosody.cfg.lua, make the files readable by the prosody user, and restart Prosody"
                + (config.Attach.Mode == AttachMode.Inline ? " (a new module needs a restart; later changes: " : " (later changes: ")
                + ServerRulesWriter.ReloadHint(config) + ").");
            return 0;
        }
        if (config.Attach.Mode == AttachMode.Inline)
        {
            const string dir = "/etc/prosody/imlogger";
            Console.WriteLine($"-- 1. Save the module ({ProsodyInlineRules.ModuleFileName}, which `--out {dir}` writes) in {dir}");
            Console.WriteLine("-- 2. Add this to the end of /etc/prosody/prosody.cfg.lua, then restart Prosody:");
            var (keep, from) = ProsodyPluginPaths.ToKeep(null);
            Console.WriteLine(ProsodyInlineRules.ConfigSnippet(config, dir, keep, from));
            return 0;
        }
        const string scriptPath = "/etc/prosody/imlogger.pfw";
        Console.WriteLine("-- 1. Add this to /etc/prosody/prosody.cfg.lua (or save it as /etc/prosody/conf.d/imlogger.cfg.lua):");
        Console.WriteLine(ProsodyTapRules.ConfigSnippet(config, scriptPath));
        Console.WriteLine($"-- 2. Save the following as {scriptPath}, then run `prosodyctl reload` (or restart Prosody):");
        Console.WriteLine(ProsodyTapRules.FirewallScript(config));
        return 0;
    }
}
