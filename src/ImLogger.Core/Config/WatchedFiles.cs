namespace ImLogger.Config;

/// <summary>
/// The files whose edits reload the config: the config itself, every file it reads, and for a symbolic link the file it
/// finally points to. The config watcher watches their folders; <see cref="SpoolPlacement"/> resolves links with the same
/// <see cref="LinkTarget"/>, so the folder it names is one the watcher really watches.
/// </summary>
public static class WatchedFiles
{
    /// <summary>Full paths as the config names them, plus each link's final target.</summary>
    public static HashSet<string> Of(ImLoggerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var files = new HashSet<string>([config.SourcePath, .. config.ReferencedFiles], StringComparer.Ordinal);
        foreach (var f in files.ToList())
            if (LinkTarget(f) is { } target) files.Add(target);
        return files;
    }

    /// <summary>Where a symbolic link finally points; null for a file that is not a link, or a dangling or looping one
    /// (the reload names it when it reads the file).</summary>
    public static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
