namespace ImLogger.Config;

/// <summary>
/// ImLogger watches the folder of its config file, and of every file the config reads, for edits. A spool in one of those
/// folders makes every spool page write an event the watcher must read and drop: in the bench, a third more thread
/// wake-ups per inline message at 500 msg/s and half more at 2,000 (docs/performance.md, "The load section in rounds").
/// Nothing is lost, so this is a note, not a refusal; the package and the samples keep the spool in a folder of its own.
/// </summary>
public static class SpoolPlacement
{
    /// <summary>A sentence for the operator when the spool shares a watched folder; null otherwise.</summary>
    public static string? Note(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var spoolDir = Folder(config.SpoolPath);
        if (spoolDir is null) return null;
        var watched = new[] { config.SourcePath }.Concat(config.ReferencedFiles)
            .FirstOrDefault(f => string.Equals(Folder(f), spoolDir, StringComparison.Ordinal)
                                 || string.Equals(Folder(WatchedFiles.LinkTarget(f)), spoolDir, StringComparison.Ordinal));
        if (watched is null) return null;
        return $"the spool {config.SpoolPath} is in the folder of {watched}, which ImLogger watches for config changes: every spool write " +
               "also wakes the config watcher (more CPU per message, nothing lost). Put the spool in a folder of its own " +
               "(<spool path=\"/var/lib/imlogger/spool.db\"/>, as the package does), then restart";
    }

    private static string? Folder(string? path) =>
        string.IsNullOrEmpty(path) ? null : Path.GetDirectoryName(Path.GetFullPath(path));
}
