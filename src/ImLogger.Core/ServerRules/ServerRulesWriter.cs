using System.Diagnostics;
using System.Text;
using ImLogger.Config;
using ImLogger.Files;

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
        if (!Directory.Exists(dir))
        {
            // rwxr-x---: Prosody reaches the files through the folder's group; set explicitly, as imlogger's umask is 077.
            Directory.CreateDirectory(dir);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, OwnerOnlyFiles.Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
        if (config.Attach.Server == XmppServerKind.Ejabberd) return WriteEjabberd(config, dir);
        var snippet = Path.Combine(dir, "imlogger.cfg.lua");
        if (config.Attach.Mode == AttachMode.Inline)
        {
            var module = Path.Combine(dir, ProsodyInlineRules.ModuleFileName);
            var (keep, from) = ProsodyPluginPaths.ToKeep(File.Exists(snippet) ? snippet : null);
            WriteAtomically(snippet, ProsodyInlineRules.ConfigSnippet(config, dir, keep, from), secret: true);
            WriteAtomically(module, ProsodyInlineRules.ModuleSource(), secret: false);
            var mucModule = Path.Combine(dir, ProsodyInlineRules.MucModuleFileName);
            WriteAtomically(mucModule, ProsodyInlineRules.MucModuleSource(), secret: false);
            return [snippet, module, mucModule];
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

    // ejabberd (inline only): the YAML snippet first, then the module's source, build script and spec.
    private static IReadOnlyList<string> WriteEjabberd(ImLoggerConfig config, string dir)
    {
        var snippet = Path.Combine(dir, EjabberdInlineRules.SnippetFileName);
        WriteAtomically(snippet, EjabberdInlineRules.ConfigSnippet(config, dir), secret: true);
        var written = new List<string> { snippet };
        foreach (var name in EjabberdInlineRules.ModuleFiles)
        {
            var path = Path.Combine(dir, name);
            WriteAtomically(path, EjabberdInlineRules.ModuleFile(name), secret: false);
            written.Add(path);
        }
        return written;
    }

    /// <summary>What the operator does so that the server picks the rewritten files up.</summary>
    public static string ReloadHint(ImLoggerConfig config) => config.Attach.Server == XmppServerKind.Ejabberd
        ? "run `ejabberdctl reload_config`: mod_imlogger_inline re-reads logged_users when ejabberd reloads its config"
        : config.Attach.Mode == AttachMode.Inline
        ? "run `prosodyctl reload`: mod_imlogger_inline re-reads imlogger_logged_users when Prosody reloads its config"
        : "run `prosodyctl reload`: mod_firewall re-reads changed scripts when Prosody reloads its config";

    /// <summary>rw-r----- (0640): Prosody reads the files through their group (a setgid folder of group prosody gives it).</summary>
    private const UnixFileMode ProsodyReadable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    private const UnixFileMode Other = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Writes <paramref name="path"/> through a temp file renamed over it. The temp file is created 0600 and
    /// only then given the final mode (0640 for a new file; an existing file's mode, never readable by others for the
    /// snippet that holds the secret), so the secret is never readable by others, not even for an instant, whatever the
    /// umask. An existing file's owner and group (root:prosody, set by the operator) are kept.</summary>
    private static void WriteAtomically(string path, string text, bool secret)
    {
        var existing = File.Exists(path);
        var mode = existing && !OperatingSystem.IsWindows() ? File.GetUnixFileMode(path) : ProsodyReadable;
        if (secret) mode &= ~Other;
        var owner = existing ? OwnerOnlyFiles.OwnerOf(path) : null;
        var temp = path + ".tmp";
        File.Delete(temp); // a leftover of an interrupted write: its mode is not to be trusted
        using (var stream = OwnerOnlyFiles.Open(temp, FileMode.CreateNew, FileAccess.Write))
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(stream.SafeFileHandle, mode);
            stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        var target = path;
        if (owner is { } wanted && OwnerOnlyFiles.OwnerOf(temp) is { } got && got != wanted && !TakeOwnerOf(path, temp))
        {
            // Not allowed to give a new file the operator's owner (we are not root): rewrite the file itself instead,
            // which keeps its owner, group and mode. Not atomic, but Prosody reads it only when told to reload.
            File.Delete(temp);
            target = null;
            try
            {
                using var stream = new FileStream(path, FileMode.Truncate, FileAccess.Write);
                stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new UnauthorizedAccessException(
                    $"Cannot rewrite {path}: it belongs to {wanted.Uid}:{wanted.Gid}, and this user may neither give a new file that " +
                    $"owner nor write the file itself ({e.Message}). Let the imlogger user own it (chown imlogger:prosody {path}) " +
                    "or run the command as root.", e);
            }
        }
        // mod_firewall reloads a script on `prosodyctl reload` only if its modification time, in whole seconds, differs
        // from the one it loaded: a version written in the same second as the last would never be picked up.
        var now = DateTime.UtcNow;
        var stamp = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        if (existing)
        {
            var old = File.GetLastWriteTimeUtc(path);
            var oldSecond = new DateTime(old.Ticks - old.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            if (stamp <= oldSecond) stamp = oldSecond.AddSeconds(1);
        }
        if (target is null)
        {
            // Only a file's owner may set its time to a chosen second; the write set it to now, which has to do then
            // (a rewrite within the same second as the last may wait for the next change to be picked up by mod_firewall).
            try { File.SetLastWriteTimeUtc(path, stamp); }
            catch (UnauthorizedAccessException) { }
            return;
        }
        File.SetLastWriteTimeUtc(temp, stamp);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Gives <paramref name="temp"/> the owner and group of <paramref name="reference"/> (<c>chown --reference</c>,
    /// in a child process: a service whose system-call filter forbids chown loses the child, not itself).</summary>
    /// <returns>False when that is not allowed.</returns>
    private static bool TakeOwnerOf(string reference, string temp)
    {
        try
        {
            var psi = new ProcessStartInfo("chown") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("--reference=" + reference);
            psi.ArgumentList.Add(temp);
            using var chown = Process.Start(psi)!;
            chown.StandardError.ReadToEnd();
            chown.WaitForExit();
            return chown.ExitCode == 0;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return false;
        }
    }
}
