namespace ImLogger.Tests.Spool;

/// <summary>A running spool's files as a kill -9 leaves them: the data file and LiteDB's log copied while open, with no
/// close, no checkpoint and no once-a-second copy pass.</summary>
internal static class SpoolCrashCopy
{
    /// <returns>The copy's spool path, in a new folder under <paramref name="under"/>.</returns>
    public static string Of(string path, string under)
    {
        var crash = Path.Combine(under, "crash-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(crash);
        foreach (var file in new[] { path, Path.Combine(Path.GetDirectoryName(path)!, "spool-log.db") })
        {
            using var from = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var to = File.Create(Path.Combine(crash, Path.GetFileName(file)));
            from.CopyTo(to);
        }
        return Path.Combine(crash, Path.GetFileName(path));
    }
}
