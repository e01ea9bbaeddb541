using LiteDB;

namespace ImLogger.Spool;

/// <summary>
/// What is wrong with a spool that does not open, and the least destructive way out, first: a damaged log is moved
/// aside alone (the data file holds every checkpointed write); a damaged data file is salvaged record by record
/// (<see cref="SpoolSalvage"/>); only then, an empty start. A zero-filled file is called so, not "encrypted".
/// </summary>
public static class SpoolDamage
{
    /// <summary>Header byte LiteDB sets when it met a damaged page while running ("rebuild at next open").</summary>
    internal const int InvalidStateOffset = 191;
    internal const int LastPageIdOffset = 64;
    internal const int PageSize = 8192;
    internal const string HeaderInfo = "** This is a LiteDB file **";

    /// <summary>The exception for a spool <paramref name="path"/> that LiteDB cannot read (<paramref name="cause"/>).</summary>
    public static InvalidDataException Describe(string path, string logPath, Exception cause)
    {
        ArgumentNullException.ThrowIfNull(cause);
        var salvage = SalvageAdvice(path);
        if (IsZeroFilled(path))
            return new InvalidDataException(
                $"The spool '{path}' is zero-filled ({new FileInfo(path).Length} bytes, all zero): it is not encrypted, nothing of it can be read " +
                "(the disk or a copy lost its content). Restore it from a backup if there is one; otherwise stop imlogger, move it aside " +
                "and start with `imlogger run --accept-new-spool` (an empty spool).", cause);
        if (File.Exists(logPath) && new FileInfo(logPath).Length > 0 && DataFileAloneOpens(path))
            return new InvalidDataException(
                $"The spool's log '{logPath}' is damaged ({cause.Message}); its data file '{path}' reads well without it. Stop imlogger, move only " +
                $"'{logPath}' aside (keep it) and start again: every write ImLogger acknowledged is in the data file. Do not move the data file.", cause);
        return new InvalidDataException($"The spool '{path}' is damaged ({cause.Message}). {salvage}", cause);
    }

    /// <summary>The advice for a damaged data file.</summary>
    public static string SalvageAdvice(string path) =>
        $"Stop imlogger and run `imlogger spool salvage --to NEWFILE --config ...`: it copies every readable record of '{path}' into NEWFILE " +
        $"and counts what was lost, without changing '{path}'; then move '{path}' and its log aside (keep them), move NEWFILE to '{path}' and start. " +
        "Only if nothing can be salvaged, start empty with `imlogger run --accept-new-spool`.";

    /// <summary>Looks at the files before LiteDB opens them. LiteDB copies its log's pages into the data file at the
    /// page id each one names, so a log of garbage would write the data file far past its end (and its damaged log is
    /// not a damaged spool: the data file holds every checkpointed write). A data file shorter than its header says
    /// was cut (a full disk during a copy, a truncation).</summary>
    /// <exception cref="InvalidDataException">The log or the data file is damaged; the message says what to do first.</exception>
    internal static void CheckBeforeOpen(string path, string logPath)
    {
        if (!File.Exists(path)) return;
        var dataLength = new FileInfo(path).Length;
        var header = new byte[PageSize];
        if (dataLength >= PageSize)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.ReadExactly(header);
            if (header[0] == 1) return; // page-encrypted by an earlier version: its pages cannot be read here
        }
        var logLength = File.Exists(logPath) ? new FileInfo(logPath).Length : 0;
        if (logLength > 0 && LogProblem(logPath, (dataLength + logLength) / PageSize) is { } problem)
            throw Describe(path, logPath, new InvalidDataException(problem));
        if (logLength == 0 && dataLength >= PageSize && System.Text.Encoding.ASCII.GetString(header, 32, HeaderInfo.Length) == HeaderInfo)
        {
            var pages = BitConverter.ToUInt32(header, LastPageIdOffset) + 1L;
            if (pages * PageSize > dataLength)
                throw new InvalidDataException(
                    $"The spool '{path}' is cut short: {dataLength} bytes where its header counts {pages * PageSize}. {SalvageAdvice(path)}");
        }
    }

    private static string? LogProblem(string logPath, long maxPageId)
    {
        if (new FileInfo(logPath).Length % PageSize != 0) return "the log ends in a partial page";
        using var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var page = new byte[PageSize];
        for (var index = 0; stream.ReadAtLeast(page, PageSize, throwOnEndOfStream: false) == PageSize; index++)
        {
            if (!page.AsSpan().ContainsAnyExcept((byte)0)) continue; // LiteDB skips blank pages too
            var pageId = BitConverter.ToUInt32(page, 0);
            if (pageId > maxPageId || page[4] > 4)
                return $"log page {index} names page {pageId} of type {page[4]}, which no spool of this size has";
        }
        return null;
    }

    /// <summary>True when LiteDB marked the file as damaged while running (a page it could not read).</summary>
    internal static bool MarkedDamaged(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < 8192) return false;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var header = new byte[InvalidStateOffset + 1];
        stream.ReadExactly(header);
        return header[0] == 0 && header[InvalidStateOffset] != 0; // byte 0 is 1 in page-encrypted files
    }

    /// <summary>True when the file exists, is not empty, and holds only zero bytes.</summary>
    public static bool IsZeroFilled(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length == 0) return false;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = stream.Read(buffer)) > 0)
            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0)) return false;
        return true;
    }

    /// <summary>Opens a copy of the data file without its log and reads every record: true when all of it reads.</summary>
    private static bool DataFileAloneOpens(string path)
    {
        var dir = Directory.CreateTempSubdirectory("imlogger-spool-check-");
        try
        {
            var copy = Path.Combine(dir.FullName, "check.db");
            File.Copy(path, copy);
            using var db = new LiteDatabase(new ConnectionString { Filename = copy, Connection = ConnectionType.Direct });
            foreach (var name in db.GetCollectionNames().ToList())
                foreach (var _ in db.GetCollection(name).FindAll()) { }
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { }
        }
    }
}
