using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Host;

/// <summary><c>imlogger server-config</c> (alias <c>prosody-config</c>): what the operator adds to the XMPP server of
/// <c>&lt;attach server&gt;</c>: Prosody (tap or inline) or ejabberd (inline).</summary>
internal static class ProsodyConfigCommand
{
    public static int Run(ImLoggerConfig config, Arguments args)
    {
        if (config.Attach.Server == XmppServerKind.Ejabberd) return RunEjabberd(config, args);
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

    // ejabberd: the YAML snippet and the module files (they are built on the server: build.sh, or ejabberdctl module_install).
    private static int RunEjabberd(ImLoggerConfig config, Arguments args)
    {
        if (args.Out == null)
        {
            const string dir = "/etc/ejabberd/imlogger";
            Console.WriteLine($"# 1. Write the module and its build script there: imlogger server-config --out {dir}; build it: sh {dir}/build.sh");
            Console.WriteLine($"# 2. Save this as {dir}/{EjabberdInlineRules.SnippetFileName}, add  include_config_file: {dir}/{EjabberdInlineRules.SnippetFileName}  to ejabberd.yml, restart ejabberd:");
            Console.WriteLine(EjabberdInlineRules.ConfigSnippet(config, dir));
            return 0;
        }
        IReadOnlyList<string> written;
        try
        {
            written = ServerRulesWriter.Write(config, args.Out);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"imlogger: cannot write the ejabberd files into {args.Out}: {e.Message}");
            return 1;
        }
        Console.WriteLine($"Wrote {string.Join(", ", written)}.");
        Console.WriteLine($"Build the module with  sh {Path.Combine(Path.GetDirectoryName(written[0])!, "build.sh")}  (installs it into CONTRIB_MODULES_PATH), add  include_config_file: {written[0]}"
            + "  to ejabberd.yml, make the snippet readable by the ejabberd user only, and restart ejabberd (later changes: "
            + ServerRulesWriter.ReloadHint(config) + ").");
        return 0;
    }
}
