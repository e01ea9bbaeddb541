using ImLogger.Files;
using Microsoft.Extensions.Logging;

namespace ImLogger.Spool;

/// <summary>The spool's own files: the lock, and owner-only modes for what earlier versions left readable.</summary>
public sealed partial class LiteDbSpool
{
    /// <summary>Spool files an earlier version created with the umask's mode (0644) become owner-only.</summary>
    private void NarrowEarlierFiles()
    {
        foreach (var file in new[] { _path, LogFileOf(_path), _path + ".lock" })
            if (OwnerOnlyFiles.Narrow(file) is { } was)
                _logger.LogWarning("spool file {File} was readable by others ({Mode}); it is owner-only now", file, was);
    }

    private static FileStream AcquireLock(string path)
    {
        var lockPath = path + ".lock";
        try
        {
            return OwnerOnlyFiles.Open(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException ex)
        {
            throw SpoolLockProblem.Describe(path, lockPath, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException(
                $"Cannot create '{lockPath}' beside the spool '{path}': {ex.Message}. " +
                "Give the imlogger service user read/write permission on the spool directory.", ex);
        }
    }
}
