namespace ImLogger.Domain;

/// <summary>
/// The spool's storage refused an operation (LiteDB reported an error it has no more specific meaning for here: a
/// transaction it cannot start, a lock, an index or page problem that is not a damaged file). Nothing of the failed
/// write was kept; the caller may retry later, as after a full disk. Storage errors never leave the spool as the storage
/// engine's own types: callers catch this (it is an <see cref="IOException"/>, so those that already treat I/O failures
/// as "the disk refused" keep doing so), <see cref="InvalidDataException"/> for a damaged file, and
/// <see cref="ImLogger.Spool.SpoolRecordException"/> for one unreadable record.
/// </summary>
public sealed class SpoolUnavailableException : IOException
{
    /// <summary>Creates the exception with the operator's message.</summary>
    public SpoolUnavailableException(string message, Exception? inner = null) : base(message, inner) { }

}
