namespace ImLogger.Spool;

/// <summary>Tells apart why the spool's lock file cannot be taken: another process holds it, or the disk refuses writes
/// (read-only file system). Both surface as <see cref="IOException"/>; on Unix its HResult is the errno.</summary>
internal static class SpoolLockProblem
{
    private const int EWOULDBLOCK = 11; // flock: held by another process (Linux; EAGAIN)
    private const int EROFS = 30;

    public static bool IsHeldByAnother(IOException e) =>
        e.HResult == EWOULDBLOCK || e.Message.Contains("used by another process", StringComparison.Ordinal);

    public static bool IsReadOnlyFileSystem(IOException e) =>
        e.HResult == EROFS || e.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase);

    /// <summary>The operator's message for a lock that cannot be taken.</summary>
    public static IOException Describe(string spoolPath, string lockPath, IOException e) =>
        IsHeldByAnother(e)
            ? new IOException(
                $"The spool '{spoolPath}' is in use by another process (could not lock '{lockPath}': {e.Message}). " +
                "Stop the other imlogger instance, or give this one a different spool path.", e)
            : IsReadOnlyFileSystem(e)
                ? new IOException(
                    $"The spool '{spoolPath}' is on a read-only file system (could not open '{lockPath}' for writing: {e.Message}). " +
                    "Remount it read-write (or check the unit's ReadWritePaths=) or give the spool a writable path; no other process holds it.", e)
                : new IOException(
                    $"Cannot open the spool's lock '{lockPath}': {e.Message}. Check the disk and the spool directory's permissions.", e);
}
