using System.Text;
using ImLogger.Files;
using LiteDB;
using LiteDB.Engine;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>What <see cref="SpoolSalvage.Salvage"/> read from a damaged spool and what it could not.</summary>
/// <param name="Records">Records copied, per collection (transcripts, events, seen_users, activity, ...); events are counted one by
/// one whether stored one per document or several to a stored batch.</param>
/// <param name="Problems">Each unreadable page or record LiteDB's reader reported (page and reason).</param>
/// <param name="IncompleteTranscripts">Transcripts whose events are not all readable: id, events found, events written.</param>
/// <param name="OrphanedEvents">Events whose transcript record was lost (kept in the new spool, but never delivered).</param>
/// <param name="SpoolId">The identity the new spool carries (the damaged spool's, so it can take its place), or null.</param>
public sealed record SpoolSalvageReport(
    IReadOnlyDictionary<string, int> Records,
    IReadOnlyList<string> Problems,
    IReadOnlyList<(string Id, int Found, int Written)> IncompleteTranscripts,
    int OrphanedEvents,
    string? SpoolId);

/// <summary>
/// <c>imlogger spool salvage</c>: copies every readable record of a damaged spool into a new spool file, and counts what
/// was lost. The damaged spool is never changed: its data file and log are copied first, and LiteDB's own tolerant
/// reader (the rebuild it runs on a file marked damaged) works on the copy, reading page by page and skipping what it
/// cannot read instead of stopping at the first bad page as queries do.
/// </summary>
public static class SpoolSalvage
{
    private const string RebuildErrors = "_rebuild_errors";
    private const string HeaderInfo = SpoolDamage.HeaderInfo;

    /// <summary>Salvages <paramref name="source"/> into <paramref name="target"/> (which must not exist).</summary>
    /// <exception cref="IOException">The source is missing or in use by a running imlogger, or the target exists.</exception>
    /// <exception cref="InvalidDataException">Nothing can be read: the file is zero-filled, or its header page is lost.</exception>
    public static SpoolSalvageReport Salvage(string source, string target)
    {
        source = Path.GetFullPath(source);
        target = Path.GetFullPath(target);
        if (!File.Exists(source) || new FileInfo(source).Length == 0)
            throw new IOException($"There is no spool to salvage at '{source}' (missing or empty).");
        if (File.Exists(target) || File.Exists(LogOf(target)))
            throw new IOException($"'{target}' (or its log) already exists: salvage writes a new spool; choose another path.");
        ThrowIfInUse(source);
        if (SpoolDamage.IsZeroFilled(source))
            throw new InvalidDataException($"The spool '{source}' is zero-filled: there is nothing in it to salvage. Restore it from a backup if there is one.");
        var header = new byte[8192];
        using (var stream = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (header[0] == 1)
            throw new InvalidDataException($"The spool '{source}' uses the page encryption of earlier ImLogger versions: open it once with its key file (`imlogger spool status`) to convert it, then salvage.");
        if (Encoding.ASCII.GetString(header, 32, HeaderInfo.Length) != HeaderInfo)
            throw new InvalidDataException($"The first page of '{source}' (LiteDB's header: where the collections are listed) is lost; salvage cannot read this file. Restore it from a backup if there is one.");

        var directory = Path.GetDirectoryName(target);
        if (!string.IsNullOrEmpty(directory)) OwnerOnlyFiles.CreateFolder(directory);
        try
        {
            Copy(source, target);
            if (File.Exists(LogOf(source))) Copy(LogOf(source), LogOf(target));
            using (var stream = new FileStream(target, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                // A file cut short: the pages its header counts are added as zeros, so the reader skips them one by one
                // instead of refusing the whole file.
                var pages = BitConverter.ToUInt32(header, SpoolDamage.LastPageIdOffset) + 1L;
                if (stream.Length < pages * SpoolDamage.PageSize && pages <= 16 * (stream.Length / SpoolDamage.PageSize + 1))
                    stream.SetLength(pages * SpoolDamage.PageSize); // (a count far beyond that is itself damage, not a cut)
                stream.Position = SpoolDamage.InvalidStateOffset;
                stream.WriteByte(1); // on the copy: LiteDB rebuilds a file so marked, record by record, when it opens it
            }
            new LiteEngine(new EngineSettings { Filename = target, AutoRebuild = true }).Dispose();
            foreach (var backup in new[] { Suffixed(target, "-backup"), Suffixed(LogOf(target), "-backup") })
                File.Delete(backup); // copies of the damaged source, which stays where it is
            return Report(source, target);
        }
        catch (LiteException e)
        {
            foreach (var file in new[] { target, LogOf(target), Suffixed(target, "-backup"), Suffixed(LogOf(target), "-backup"), Suffixed(target, "-temp") })
                File.Delete(file);
            throw new InvalidDataException($"Salvaging '{source}' failed inside LiteDB's reader ({e.Message}); nothing was written to '{target}'. " +
                                           "Restore the spool from a backup if there is one.", e);
        }
        catch
        {
            foreach (var file in new[] { target, LogOf(target), Suffixed(target, "-backup"), Suffixed(LogOf(target), "-backup"), Suffixed(target, "-temp") })
                File.Delete(file);
            throw;
        }
    }

    private static SpoolSalvageReport Report(string source, string target)
    {
        using var db = new LiteDatabase(new ConnectionString { Filename = target, Connection = ConnectionType.Direct });
        var problems = db.GetCollection(RebuildErrors).FindAll()
            .Select(e => $"page {e["pageID"].AsInt32} ({e["origin"].AsString}): {e["message"].AsString}").ToList();
        db.DropCollection(RebuildErrors);
        var records = db.GetCollectionNames().Where(n => !n.StartsWith('$'))
            .ToDictionary(n => n, n => db.GetCollection(n).Count(), StringComparer.Ordinal);

        var transcripts = db.GetCollection(TranscriptsCollection).FindAll()
            .ToDictionary(d => d[F_Id].AsString, d => d[F_EventCount].AsInt32, StringComparer.Ordinal);
        // Events of earlier versions one per document, and those of stored batches (LiteDbSpool.Batches.cs) several per document.
        var found = db.GetCollection(EventsCollection).FindAll().Select(d => (Tid: d[E_TranscriptId].AsString, Count: 1))
            .Concat(db.GetCollection(LiteDbSpool.BatchesCollection).FindAll()
                .Select(d => (Tid: d[LiteDbSpool.B_TranscriptId].AsString, d[LiteDbSpool.B_Events].AsArray.Count)))
            .GroupBy(d => d.Tid, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(d => d.Count), StringComparer.Ordinal);
        var incomplete = transcripts.Where(t => found.GetValueOrDefault(t.Key) < t.Value)
            .Select(t => (t.Key, found.GetValueOrDefault(t.Key), t.Value)).OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var orphaned = found.Where(f => !transcripts.ContainsKey(f.Key)).Sum(f => f.Value);
        // Counted as events, not as the documents that hold them: what the operator compares with what was written.
        records.Remove(LiteDbSpool.BatchesCollection);
        records[EventsCollection] = found.Values.Sum();

        // The new spool carries the damaged one's identity, so that once moved into its place the marker accepts it.
        var metas = db.GetCollection("spool_meta");
        var identity = metas.FindById("identity");
        var marker = ReadMarker(source);
        if (identity is null && marker is not null)
            identity = new BsonDocument { ["_id"] = "identity", ["id"] = marker.SpoolId, ["generation"] = 0L };
        if (identity is not null)
        {
            if (marker is not null && marker.SpoolId == identity["id"].AsString)
                identity["generation"] = Math.Max(identity["generation"].AsInt64, marker.Generation);
            // What was salvaged may hold headers without their queue entries (or the reverse): the first open rebuilds the queue.
            identity.Remove(LiteDbSpool.QueueKeptField);
            metas.Upsert(identity);
        }
        db.Checkpoint();
        return new SpoolSalvageReport(records, problems, incomplete, orphaned, identity?["id"].AsString);
    }

    private static SpoolMarker? ReadMarker(string source)
    {
        try { return SpoolMarker.Read(source); }
        catch (InvalidDataException) { return null; }
    }

    private static void ThrowIfInUse(string source)
    {
        var lockPath = source + ".lock";
        if (!File.Exists(lockPath)) return;
        try
        {
            using var _ = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (SpoolLockProblem.IsHeldByAnother(e))
        {
            throw new IOException($"The spool '{source}' is in use by a running imlogger (its lock '{lockPath}' is held): stop it before salvaging.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a read-only disk or no write permission on the lock: reading the spool is still possible
        }
    }

    private static void Copy(string from, string to)
    {
        using var input = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var output = OwnerOnlyFiles.Open(to, FileMode.CreateNew, FileAccess.Write);
        input.CopyTo(output);
        output.Flush(flushToDisk: true);
    }

    private static string LogOf(string path) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-log" + Path.GetExtension(path));

    private static string Suffixed(string path, string suffix) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + suffix + Path.GetExtension(path));
}
