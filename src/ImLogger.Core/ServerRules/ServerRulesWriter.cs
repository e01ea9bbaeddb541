using ImLogger.Config;

namespace ImLogger.ServerRules;

/// <summary>Writes what Prosody needs for the config's attach mode into a folder: the files
/// <c>imlogger prosody-config --out</c> writes, and <c>imlogger run</c> rewrites on reload when
/// <c>&lt;attach rules-out="..."/&gt;</c> asks for it.</summary>
public static class ServerRulesWriter
{
    /// <summary>Writes the files (each atomically: a temp file renamed over the old one, so Prosody never reads half a file).</summary>
    /// <returns>The files written, the snippet first.</returns>
    /// <exception cref="IOException">The folder cannot be created or written.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to write there.</exception>
    public static IReadOnlyList<string> Write(ImLoggerConfig config, string directory)
    {
        ArgumentNullException.ThrowIfNull(config);
        var dir = Path.GetFullPath(directory);
        Directory.CreateDirectory(dir);
        var snippet = Path.Combine(dir, "imlogger.cfg.lua");
        if (config.Attach.Mode == AttachMode.Inline)
        {
            var module = Path.Combine(dir, ProsodyInlineRules.ModuleFileName);
            WriteAtomically(snippet, ProsodyInlineRules.ConfigSnippet(config, dir), secret: true);
            WriteAtomically(module, ProsodyInlineRules.ModuleSource(), secret: false);
            return [snippet, module];
        }
        var script = Path.Combine(dir, "imlogger.pfw");
        WriteAtomically(script, ProsodyTapRules.FirewallScript(config), secret: false);
        WriteAtomically(snippet, ProsodyTapRules.ConfigSnippet(config, script), secret: true);
        return [snippet, script];
    }

    /// <summary>Whom the rules cover, for log lines: "3 logged user(s)", plus the domains copied whole.</summary>
    public static string Covers(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var whole = config.Organizations.Where(o => o.LoggedByDefault).SelectMany(o => o.Domains).ToList();
        return $"{config.LoggedUsers.Count} logged user(s)" + (whole.Count == 0 ? "" : $" and every user of {string.Join(", ", whole)} (logged by default)");
    }

    /// <summary>What the operator does so that Prosody picks the rewritten files up.</summary>
    public static string ReloadHint(ImLoggerConfig config) => config.Attach.Mode == AttachMode.Inline
        ? "run `prosodyctl reload`: mod_imlogger_inline re-reads imlogger_logged_users when Prosody reloads its config"
        : "run `prosodyctl reload`: mod_firewall re-reads changed scripts when Prosody reloads its config";

    private static void WriteAtomically(string path, string text, bool secret)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        if (!OperatingSystem.IsWindows())
        {
            // Keep the mode the operator gave the file; new files: the snippet holds the component secret, so owner
            // and group only (a setgid folder owned by group prosody lets Prosody read it, see docs/admin-guide.md).
            var mode = File.Exists(path) ? File.GetUnixFileMode(path)
                : secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            File.SetUnixFileMode(temp, mode);
        }
        // mod_firewall reloads a script on `prosodyctl reload` only if its modification time, in whole seconds, differs
        // from the one it loaded: a version written in the same second as the last would never be picked up.
        var now = DateTime.UtcNow;
        var stamp = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        if (File.Exists(path))
        {
            var old = File.GetLastWriteTimeUtc(path);
            var oldSecond = new DateTime(old.Ticks - old.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            if (stamp <= oldSecond) stamp = oldSecond.AddSeconds(1);
        }
        File.SetLastWriteTimeUtc(temp, stamp);
        File.Move(temp, path, overwrite: true);
    }
}
