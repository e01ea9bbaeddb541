using System.Diagnostics;

namespace ImLogger.Host;

/// <summary>
/// An operator who runs <c>sudo imlogger report</c> (or <c>spool ...</c>) while the service is stopped opens the spool
/// as root: the lock and LiteDB log files created then would belong to root, and the service, running as its own
/// user, could not open its spool any more. Afterwards, they are given the owner of the spool file (of its folder
/// when the command created the spool).
/// </summary>
internal static class SpoolOwnership
{
    /// <summary>Runs <paramref name="command"/>; if this process is root, gives the spool's files their owner back after it.</summary>
    public static T AsSpoolOwner<T>(string spoolPath, Func<T> command)
    {
        var existed = File.Exists(spoolPath);
        // Taken before the command: opening may replace the spool file itself (converting its encryption), and the
        // new file would belong to root.
        var owner = existed ? ImLogger.Files.OwnerOnlyFiles.OwnerOf(spoolPath) : null;
        try
        {
            return command();
        }
        finally
        {
            if (Environment.IsPrivilegedProcess && !OperatingSystem.IsWindows()) Restore(spoolPath, existed, owner);
        }
    }

    private static void Restore(string spoolPath, bool existed, (uint Uid, uint Gid)? owner)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(spoolPath));
        if (dir is null || !Directory.Exists(dir)) return;
        var reference = existed ? Path.GetFullPath(spoolPath) : dir;
        var name = Path.GetFileNameWithoutExtension(spoolPath);
        var files = Directory.GetFiles(dir, name + "*").Where(f => !f.EndsWith(".sock", StringComparison.Ordinal)).ToList();
        if (files.Count == 0) return;
        try
        {
            var psi = new ProcessStartInfo("chown") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(owner is { } o ? $"{o.Uid}:{o.Gid}" : "--reference=" + reference);
            foreach (var f in files) psi.ArgumentList.Add(f);
            using var chown = Process.Start(psi)!;
            var error = chown.StandardError.ReadToEnd();
            chown.WaitForExit();
            if (chown.ExitCode != 0)
                Console.Error.WriteLine($"imlogger: warning: could not give the spool files back to the owner of {reference} ({error.Trim()}); " +
                                        $"run `chown --reference={reference} {string.Join(' ', files)}` before starting the service");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Console.Error.WriteLine($"imlogger: warning: could not run chown ({e.Message}); make sure the service's user owns {string.Join(", ", files)}");
        }
    }
}
