using LiteDB;
using Microsoft.Win32.SafeHandles;

namespace ImLogger.Spool;

/// <summary>The edges of a write that lie outside its transaction's try: LiteDB's errors there leave the spool as its own
/// exceptions too, like every other storage failure (no port lets a <see cref="LiteException"/> out).</summary>
public sealed partial class LiteDbSpool
{
    private SafeFileHandle? _logHandle;

    /// <summary>Begins the write's transaction; false when one is already open on this thread.</summary>
    private bool BeginTransaction()
    {
        try { return _db.BeginTrans(); }
        catch (LiteException e) { throw Translated(e); }
    }

    /// <summary>Makes a committed write durable: fsync of LiteDB's log file, where <c>Commit</c> put the transaction's pages
    /// (class remarks). When it fails (disk gone, I/O error), the write was committed but is not known to be on disk: the
    /// caller is told it failed and retries, which is harmless (appends are idempotent by event id, the other writes are
    /// upserts or find the work done).</summary>
    private void MakeDurable()
    {
        try
        {
            // fsync is per file, not per descriptor: a handle of our own on the log flushes the pages LiteDB wrote
            // through its own. LiteDB truncates the log at a checkpoint (same file) and deletes it only when closed.
            _logHandle ??= File.OpenHandle(LogFileOf(_path), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.FlushToDisk(_logHandle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _appendFailed = true; // the retry looks its events up: they may have landed
            CloseLogHandle();
            throw new SpoolUnavailableException(
                $"The spool '{_path}' could not make a write durable ({e.Message}): it may or may not be on disk, and is retried. " +
                "If this repeats, check the disk and the imlogger log, and run `imlogger spool status`.", e);
        }
    }

    /// <summary>Forgets the handle on the log: LiteDB deletes its log when closed and a reopen precreates a new file.</summary>
    private void CloseLogHandle()
    {
        _logHandle?.Dispose();
        _logHandle = null;
    }

    private Exception Translated(LiteException e) =>
        e.ErrorCode == LiteException.INVALID_DATAFILE_STATE ? Damaged(e) : SpoolUnavailable.From(_path, e);
}
