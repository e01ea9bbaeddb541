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
