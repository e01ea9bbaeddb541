using LiteDB;

namespace ImLogger.Spool;

/// <summary>The edges of a write that lie outside its transaction's try: LiteDB's errors there leave the spool as its own
/// exceptions too, like every other storage failure (no port lets a <see cref="LiteException"/> out).</summary>
public sealed partial class LiteDbSpool
{
    /// <summary>Begins the write's transaction; false when one is already open on this thread.</summary>
    private bool BeginTransaction()
    {
        try { return _db.BeginTrans(); }
        catch (LiteException e) { throw Translated(e); }
    }

    /// <summary>The checkpoint after a commit (class remarks: the only fsync LiteDB offers). When it fails (disk full), the
    /// write was committed but is not known to be on disk: the caller is told it failed and retries, which is harmless
    /// (appends are idempotent by event id, the other writes are upserts or find the work done).</summary>
    private void MakeDurable()
    {
        try { _db.Checkpoint(); }
        catch (LiteException e)
        {
            _appendFailed = true; // the retry looks its events up: they may have landed
            throw Translated(e);
        }
    }

    private Exception Translated(LiteException e) =>
        e.ErrorCode == LiteException.INVALID_DATAFILE_STATE ? Damaged(e) : SpoolUnavailable.From(_path, e);
}
