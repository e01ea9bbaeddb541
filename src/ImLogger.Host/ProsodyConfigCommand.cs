using ImLogger.Config;
using ImLogger.ServerRules;

namespace ImLogger.Host;

/// <summary><c>imlogger prosody-config</c>: what the operator adds to Prosody, for tap or inline mode.</summary>
internal static class ProsodyConfigCommand
{
    public static int Run(ImLoggerConfig config, Arguments args) =>
        config.Attach.Mode == AttachMode.Inline ? RunInline(config, args) : RunTap(config, args);

    /// <summary>Inline mode: the module file and the snippet that loads and configures it.</summary>
    private static int RunInline(ImLoggerConfig config, Arguments args)
    {
        var dir = Path.GetFullPath(args.Out ?? "/etc/prosody/imlogger");
        if (args.Out == null)
        {
            Console.WriteLine($"-- 1. Save the module (`imlogger prosody-config --out {dir}` writes it) as {dir}/{ProsodyInlineRules.ModuleFileName}");
            Console.WriteLine("-- 2. Add this to the end of /etc/prosody/prosody.cfg.lua, then restart Prosody:");
            Console.WriteLine(ProsodyInlineRules.ConfigSnippet(config, dir));
            return 0;
        }
        Directory.CreateDirectory(dir);
        var module = Path.Combine(dir, ProsodyInlineRules.ModuleFileName);
        var snippet = Path.Combine(dir, "imlogger.cfg.lua");
        File.WriteAllText(module, ProsodyInlineRules.ModuleSource());
        File.WriteAllText(snippet, ProsodyInlineRules.ConfigSnippet(config, dir));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(snippet, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Console.WriteLine($"Wrote {snippet} and {module}.");
        Console.WriteLine($"Add  Include \"{snippet}\"  at the end of prosody.cfg.lua, make both files readable by the prosody user, and restart Prosody.");
        return 0;
    }

    private static int RunTap(ImLoggerConfig config, Arguments args)
    {
        if (args.Out == null)
        {
            const string scriptPath = "/etc/prosody/imlogger.pfw";
            Console.WriteLine("-- 1. Add this to /etc/prosody/prosody.cfg.lua (or save it as /etc/prosody/conf.d/imlogger.cfg.lua):");
            Console.WriteLine(ProsodyTapRules.ConfigSnippet(config, scriptPath));
            Console.WriteLine($"-- 2. Save the following as {scriptPath}, then run `prosodyctl reload` (or restart Prosody):");
            Console.WriteLine(ProsodyTapRules.FirewallScript(config));
            return 0;
        }
        var dir = Path.GetFullPath(args.Out);
        Directory.CreateDirectory(dir);
        var script = Path.Combine(dir, "imlogger.pfw");
        var snippet = Path.Combine(dir, "imlogger.cfg.lua");
        File.WriteAllText(script, ProsodyTapRules.FirewallScript(config));
        File.WriteAllText(snippet, ProsodyTapRules.ConfigSnippet(config, script));
        // The snippet holds the component secret: readable by its owner only.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(snippet, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Console.WriteLine($"Wrote {snippet} and {script}.");
        Console.WriteLine($"Add  Include \"{snippet}\"  at the end of prosody.cfg.lua, make both files readable by the prosody user, and reload Prosody.");
        return 0;
    }
}
