using System.Globalization;
using ImLogger.Files;
using LiteDB;
using Microsoft.Extensions.Logging;

namespace ImLogger.Spool;

/// <summary>
/// The spool cannot vanish silently. Its identity (a random id and a generation, in <c>spool_meta</c>) is mirrored in a
/// marker outside the file (<see cref="SpoolMarker"/>): at open, a spool that is missing, empty, another one, or older than
/// the marker is refused unless the operator accepts a new spool; while running, <see cref="Watch"/> notices within seconds
/// that the file was deleted, replaced or moved, saves what the process still holds of it, and refuses every later write.
/// </summary>
public sealed partial class LiteDbSpool
{
    private const string IdentityMetaId = "identity";
    private string _spoolId = "";
    private long _generation;
    private long _writesSinceMark;
    private FileStream? _watchHandle;
    private string? _gone;
    private string? _watchedTarget;
    private string? _damage;

    /// <summary>True once the file was found deleted, replaced or damaged (<see cref="Watch"/>): no write can succeed in this run.</summary>
    public bool Lost
    {
        get { lock (_gate) return _gone is not null || _damage is not null; }
    }

    /// <summary>The spool's random id (written inside the database when it was created).</summary>
    public string SpoolId => _spoolId;

    /// <summary>Before anything touches the files: a marker that names a spool which is not there (missing or 0 bytes) is
    /// refused unless <paramref name="acceptNew"/>; then a stale log is moved aside so it is not replayed onto the new file.</summary>
    private SpoolMarker? CheckMarkerBeforeOpen(bool acceptNew)
    {
        SpoolDamage.CheckBeforeOpen(_path, LogFileOf(_path));
        if (SpoolDamage.MarkedDamaged(_path))
            throw new InvalidDataException($"The spool '{_path}' has a damaged page (found while it was in use). {SpoolDamage.SalvageAdvice(_path)}");
        var marker = SpoolMarker.Read(_path);
        var state = !File.Exists(_path) ? "missing" : new FileInfo(_path).Length == 0 ? "empty (0 bytes)" : null;
        if (state is null) return marker;
        if (marker is null)
        {
            // The marker went too (a whole folder emptied), but the watchdog's saved copy is still there.
            var saved = Directory.Exists(Path.GetDirectoryName(_path))
                ? Directory.GetFiles(Path.GetDirectoryName(_path)!, Path.GetFileName(_path) + ".*").Where(IsSavedCopy).Order(StringComparer.Ordinal).ToList()
                : [];
            if (saved.Count == 0) return null; // a first start
            if (!acceptNew)
                throw new SpoolIdentityException(
                    $"The spool '{_path}' is {state} and its marker is gone, but a copy saved when it vanished is beside it: " +
                    $"'{saved[^1]}'. Move that copy to '{_path}' and start again; only if it is not wanted, start with `imlogger run --accept-new-spool`.");
            _logger.LogWarning("spool {Path} is {State}; starting a new spool (--accept-new-spool) although {Saved} holds the one that vanished", _path, state, saved[^1]);
            return null;
        }
        Refuse(marker, $"the spool '{_path}' is {state}", acceptNew);
        var log = LogFileOf(_path);
        if (File.Exists(log))
        {
            var aside = $"{log}.orphaned-{DateTime.UtcNow:yyyyMMddHHmmss}";
            File.Move(log, aside);
            _logger.LogWarning("spool log {Log} had no data file; moved aside to {Aside}", log, aside);
        }
        return null; // accepted: the new spool gets a new identity
    }

    /// <summary>After the database is open: compares its identity with the marker, then advances the generation in both
    /// (database first). A spool without an identity gets one (a new spool, or one written by an earlier version).</summary>
    private void EnsureIdentity(SpoolMarker? marker, bool acceptNew)
    {
        var metas = _db.GetCollection(MetaCollection);
        var identity = metas.FindById(IdentityMetaId);
        var id = identity?["id"].AsString;
        var generation = identity?["generation"].AsInt64 ?? 0;
        if (marker is not null)
        {
            if (id is null)
                Refuse(marker, $"the spool '{_path}' is not that spool (it carries no identity: a new or foreign file)", acceptNew);
            else if (id != marker.SpoolId)
                Refuse(marker, $"the spool '{_path}' is another spool (id {id}){(marker.SpoolPath != _path ? $"; the marker was written for '{marker.SpoolPath}'" : "")}", acceptNew);
            else if (generation < marker.Generation)
                Refuse(marker, $"the spool '{_path}' is an older copy of it (generation {generation}, the marker has seen {marker.Generation}): a backup restored, or a file copied back", acceptNew);
        }
        else if (id is not null)
            _logger.LogWarning("spool {Path}: its identity marker {Marker} was missing; written anew from the spool (id {Id})", _path, SpoolMarker.PathFor(_path), id);
        if (id is null)
        {
            id = Guid.NewGuid().ToString("N");
            _logger.LogInformation("spool {Path}: new spool identity {Id}", _path, id);
        }
        _spoolId = id;
        _generation = Math.Max(generation, marker?.SpoolId == id ? marker.Generation : 0);
        Advance();
    }

    private void Refuse(SpoolMarker marker, string what, bool acceptNew)
    {
        var markerFile = SpoolMarker.PathFor(_path);
        var told = $"{what}, but the marker '{markerFile}' says spool {marker.SpoolId} lived there " +
                   $"(generation {marker.Generation}, last written {marker.UpdatedUtc.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)}).";
        if (acceptNew)
        {
            _logger.LogWarning("{What} Starting anyway (--accept-new-spool): whatever that spool held (waiting transcripts, seat order, learned rooms) is not here", told);
            return;
        }
        throw new SpoolIdentityException(
            $"{told} Whatever it held (waiting transcripts, the seat order of organizations logged by default, learned rooms) would be lost. " +
            $"Put the right spool file back at '{_path}' (look for '{Path.GetFileName(_path)}.deleted-*' or '.replaced-*' beside it, or a backup), " +
            $"or, if it is damaged, `imlogger spool salvage --to NEWFILE` and move NEWFILE there; only if it is truly gone, start with " +
            "`imlogger run --accept-new-spool` (an empty spool and a new marker).");
    }

    /// <summary>Advances the generation in the database (durably), then in the marker. Caller holds the gate or is the constructor.</summary>
    private void Advance()
    {
        CopyDeferredAnswered(); // LiteDbSpool.AnsweredDeferred.cs
        _generation++;
        var doc = new BsonDocument { ["_id"] = IdentityMetaId, ["id"] = _spoolId, ["generation"] = _generation };
        if (_queueKept) doc[QueueKeptField] = _generation;
        _db.GetCollection(MetaCollection).Upsert(doc);
        _db.Checkpoint();
        _writesSinceMark = 0;
        _markerDue = new SpoolMarker(_spoolId, _generation, _path, DateTimeOffset.UtcNow);
        if (!_watching) WriteDueMarker(); // at open and close: at once; while running, Watch writes it outside the gate
    }

    /// <summary>Opened once the database is in place: the process's own handle on the file, to tell later whether the
    /// path still names it.</summary>
    private void StartWatching()
    {
        _watchHandle = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        _watchedTarget = HandleTarget(); // the real path (a configured path may go through symbolic links)
    }

    /// <summary>Where the process's handle on the file now is, as Linux tells it ("... (deleted)" once unlinked); null elsewhere.</summary>
    private string? HandleTarget()
    {
        var fd = $"/proc/self/fd/{_watchHandle!.SafeFileHandle.DangerousGetHandle()}";
        return OperatingSystem.IsLinux() && File.Exists(fd) ? new FileInfo(fd).LinkTarget : null;
    }

    /// <summary>Checks that the spool file is still the one this process opened, and records progress in the marker when
    /// there were writes. Call every second or so (the service's watchdog does).</summary>
    /// <returns>Null while all is well; otherwise what happened to the file and where its content was saved. From then on
    /// every write is refused (<see cref="SpoolGoneException"/>): nothing more can be made durable where anyone will find it.</returns>
    public string? Watch()
    {
        try
        {
            CopyDeferredAnsweredInSlices(); // LiteDbSpool.AnsweredDeferred.cs: the gate held a slice at a time
            return WatchUnderGate();
        }
        finally { WriteDueMarker(); } // its fsync and rename outside the gate: requests do not wait for them (LiteDbSpool.Marker.cs)
    }

    private string? WatchUnderGate()
    {
        lock (_gate)
        {
            if (_disposed || _wedged) return null;
            if (_gone is not null) return _gone;
            if (_damage is not null) return _damage;
            var problem = FileProblem();
            if (problem is not null)
            {
                _gone = problem + Rescue();
                return _gone;
            }
            if (_writesSinceMark > 0)
            {
                try { Advance(); }
                catch (Exception e) when (e is LiteException or IOException)
                {
                    // A failed write (disk full) can leave LiteDB with pages it can neither write nor roll back; like a
                    // failed Write, the database is closed and reopened before the next read or write (ReopenIfWedged).
                    _logger.LogDebug("spool generation not advanced: {Reason}", e.Message);
                    _wedged = true;
                    try { _db.Dispose(); }
                    catch (Exception disposeError) { _logger.LogDebug("closing the spool after a failed generation write: {Problem}", disposeError.Message); }
                }
            }
            return null;
        }
    }

    private string? FileProblem()
    {
        if (_watchHandle is null) return null;
        var now = HandleTarget();
        if (!File.Exists(_path))
            return now is not null && !now.EndsWith(" (deleted)", StringComparison.Ordinal) && now != _watchedTarget
                ? $"the spool file '{_path}' was moved to '{now}' while running"
                : $"the spool file '{_path}' was deleted while running";
        if (now is null || now == _watchedTarget) return null;
        return now.EndsWith(" (deleted)", StringComparison.Ordinal)
            ? $"the spool file '{_path}' was replaced by another file while running"
            : $"the spool file '{_path}' was moved to '{now}' while running, and another file put in its place";
    }

    /// <summary>Copies what this process still holds of a deleted or replaced spool (every acknowledged write, after a
    /// checkpoint of the log into it) to "{path}.deleted-{time}" beside it.</summary>
    private string Rescue()
    {
        var target = $"{_path}.{(File.Exists(_path) ? "replaced" : "deleted")}-{DateTime.UtcNow:yyyyMMddHHmmss}";
        try
        {
            // Acknowledged writes since the last checkpoint are in the log (fsynced): into the file this process holds first.
            try { _db.Checkpoint(); }
            catch (LiteException e) { _logger.LogWarning("spool {Path}: the log could not be copied into the file before saving it ({Reason})", _path, e.Message); }
            var fd = $"/proc/self/fd/{_watchHandle!.SafeFileHandle.DangerousGetHandle()}";
            if (!(HandleTarget()?.EndsWith(" (deleted)", StringComparison.Ordinal) ?? false))
                return ". Every later write is refused";
            using (var from = new FileStream(fd, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var to = OwnerOnlyFiles.Open(target, FileMode.CreateNew, FileAccess.Write))
                from.CopyTo(to);
            return $". What this process held of it is saved as '{target}': stop imlogger, move that file to '{_path}' and start again. Every later write is refused";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $". Its content could not be saved ({e.Message}). Every later write is refused";
        }
    }

    /// <summary>LiteDB met a page it cannot read and closed the database: nothing more can be done with it in this run.</summary>
    private InvalidDataException Damaged(LiteException e)
    {
        _damage ??= $"The spool '{_path}' has a damaged page ({e.Message}). {SpoolDamage.SalvageAdvice(_path)}";
        return new InvalidDataException(_damage, e);
    }

    private bool IsSavedCopy(string file)
    {
        var suffix = file[(_path.Length + 1)..];
        return suffix.StartsWith("deleted-", StringComparison.Ordinal) || suffix.StartsWith("replaced-", StringComparison.Ordinal);
    }

    private void ThrowIfGone()
    {
        if (_gone is not null) throw new SpoolGoneException(_gone);
    }
}

/// <summary>The spool at the configured path is not the spool ImLogger last used (missing, empty, another one, or older).</summary>
public sealed class SpoolIdentityException(string message) : IOException(message);

/// <summary>The spool file was deleted, replaced or moved while running: writes are refused.</summary>
public sealed class SpoolGoneException(string message) : IOException(message);
