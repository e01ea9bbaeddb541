using LiteDB;

namespace ImLogger.Spool;

/// <summary>Turns LiteDB's errors into the spool's own <see cref="SpoolUnavailableException"/> (in the domain, so that
/// the stages that catch it need not depend on the spool).</summary>
internal static class SpoolUnavailable
{
    /// <summary>The spool at <paramref name="path"/> refused an operation with LiteDB's <paramref name="e"/>.</summary>
    public static SpoolUnavailableException From(string path, LiteException e) =>
        new($"The spool '{path}' refused the operation ({e.Message}, LiteDB code {e.ErrorCode}). Nothing of it was kept; it is retried. " +
            "If this repeats, check the disk and the imlogger log, and run `imlogger spool status`.", e);
}
