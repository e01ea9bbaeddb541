using ImLogger.Files;
using LiteDB;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool
{
    /// <summary><c>{ _id: "encryption", scheme, check }</c>: present once the spool is encrypted. <c>check</c> is a known
    /// text sealed with the key, so the wrong key file is named as such at open instead of failing record by record.</summary>
    private const string MetaCollection = "spool_meta";
    private const string EncryptionMetaId = "encryption";
    private const string KeyCheckText = "imlogger spool key check";
    private const string KeyCheckRecordId = "meta:key-check";

    /// <summary>Earlier versions encrypted with LiteDB's password option: AES in ECB mode over whole pages, without
    /// integrity. Such a file starts with the byte 1 (LiteDB's AesStream marker); a plain one with page 0's id, 0.</summary>
    private static bool IsPageEncrypted(string path)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < 8192) return false;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return stream.ReadByte() == 1;
    }

    /// <summary>Brings the file to the configured encryption before it is opened for use: a page-encrypted (ECB) spool
    /// of an earlier version, or an unencrypted one that now has a key file, is copied record by record into a fresh
    /// file with every record sealed, which then replaces it. An encrypted spool without a key is refused.</summary>
    /// <exception cref="InvalidDataException">The key is missing or wrong.</exception>
    private void PrepareEncryption()
    {
        if (IsPageEncrypted(_path))
        {
            if (_cipher is null || _key is null)
                throw new InvalidDataException(
                    $"The spool '{_path}' is encrypted with LiteDB's page encryption of earlier ImLogger versions; configure " +
                    "<spool key-file=\"...\"> with the key file it was created with, and ImLogger converts it to per-record AES-GCM at start.");
            var moved = Convert(_path, _key, _cipher, "LiteDB page encryption (AES-ECB, no integrity)");
            _logger.LogWarning("spool {Path} converted from LiteDB page encryption (AES-ECB) to per-record AES-GCM: {Records} record(s) re-encrypted", _path, moved);
            return;
        }
        if (!File.Exists(_path)) return;
        bool encrypted, hasRecords;
        using (var db = OpenDatabase(_path))
        {
            var meta = db.GetCollection(MetaCollection).FindById(EncryptionMetaId);
            encrypted = meta is not null;
            // One record is enough to know (Count would read the whole backlog at every start).
            hasRecords = db.GetCollection(EventsCollection).Find(Query.All(), 0, 1).Any() || db.GetCollection(TranscriptsCollection).Find(Query.All(), 0, 1).Any();
            if (encrypted) CheckKey(meta!);
        }
        if (_cipher is null || encrypted || !hasRecords) return;
        var count = Convert(_path, null, _cipher, "unencrypted");
        _logger.LogWarning("spool {Path} was unencrypted and a key file is now configured: {Records} record(s) encrypted (AES-GCM)", _path, count);
    }

    private void CheckKey(BsonDocument meta)
    {
        if (_cipher is null)
            throw new InvalidDataException($"The spool '{_path}' is encrypted; configure <spool key-file=\"...\"> with the key file it was created with.");
        var scheme = meta.TryGetValue("scheme", out var s) && s.IsString ? s.AsString : "";
        if (scheme != SpoolCipher.Scheme)
            throw new InvalidDataException($"The spool '{_path}' is encrypted with '{scheme}', which this version does not read (it reads {SpoolCipher.Scheme}).");
        try
        {
            _cipher.Open(meta["check"].AsBinary, KeyCheckRecordId);
        }
        catch (Exception e) when (e is SpoolRecordException or InvalidCastException)
        {
            throw new InvalidDataException(
                $"The spool '{_path}' cannot be opened with the configured key: it was encrypted with another key file. Configure the key " +
                "file it was created with (a spool cannot be read without it).", e);
        }
    }

    /// <summary>Marks a new (empty) spool encrypted; runs in the constructor's first write.</summary>
    private void MarkEncrypted(LiteDatabase db)
    {
        if (_cipher is null) return;
        var metas = db.GetCollection(MetaCollection);
        if (metas.FindById(EncryptionMetaId) is null) metas.Insert(EncryptionMeta(_cipher));
    }

    private static BsonDocument EncryptionMeta(SpoolCipher cipher) => new()
    {
        ["_id"] = EncryptionMetaId,
        ["scheme"] = SpoolCipher.Scheme,
        ["check"] = cipher.Seal(System.Text.Encoding.UTF8.GetBytes(KeyCheckText), KeyCheckRecordId),
    };

    /// <summary>Copies every collection into "{path}.sealing" with events and conversation keys sealed, then renames it
    /// over <paramref name="path"/> (a crash before the rename leaves the original untouched; the copy is redone).</summary>
    /// <returns>How many records were sealed.</returns>
    private static int Convert(string path, string? legacyPassword, SpoolCipher cipher, string from)
    {
        var fresh = path + ".sealing";
        DeleteDatabaseFiles(fresh);
        OwnerOnlyFiles.Precreate(fresh);
        OwnerOnlyFiles.Precreate(LogFileOf(fresh));
        var count = 0;
        try
        {
            using (var source = new LiteDatabase(new ConnectionString { Filename = path, Connection = ConnectionType.Direct, Password = legacyPassword }))
            using (var target = new LiteDatabase(new ConnectionString { Filename = fresh, Connection = ConnectionType.Direct }))
            {
                target.BeginTrans();
                foreach (var name in source.GetCollectionNames().ToList())
                {
                    var into = target.GetCollection(name);
                    foreach (var doc in source.GetCollection(name).FindAll())
                    {
                        var stored = name switch
                        {
                            EventsCollection => SealEvent(doc, cipher),
                            BatchesCollection => SealBatch(doc, cipher),
                            TranscriptsCollection => SealKey(doc, cipher),
                            _ => doc,
                        };
                        if (name is EventsCollection or TranscriptsCollection) count++;
                        if (name is BatchesCollection) count += doc[B_Events].AsArray.Count;
                        into.Insert(stored);
                    }
                }
                target.GetCollection(MetaCollection).Upsert(EncryptionMeta(cipher));
                target.Commit();
                target.Checkpoint();
            }
        }
        catch (LiteException e) when (legacyPassword is not null && e.ErrorCode is LiteException.INVALID_PASSWORD or LiteException.INVALID_DATABASE)
        {
            DeleteDatabaseFiles(fresh);
            throw new InvalidDataException(
                $"The spool '{path}' ({from}) cannot be opened with the configured key ({e.Message}). Configure the key file it was created with.", e);
        }
        catch
        {
            DeleteDatabaseFiles(fresh);
            throw;
        }
        // The old log must not outlive its data file: LiteDB would replay it onto the new one. Closing the source
        // checkpointed it, so it is empty (or gone) here.
        var oldLog = LogFileOf(path);
        if (File.Exists(oldLog))
        {
            if (new FileInfo(oldLog).Length > 0)
                throw new IOException($"The spool's log '{oldLog}' was not emptied when the spool was closed; the spool was not converted. Check the disk and start again.");
            File.Delete(oldLog);
        }
        File.Move(fresh, path, overwrite: true);
        DeleteDatabaseFiles(fresh);
        return count;
    }

    /// <summary>LiteDB's write-ahead log beside a data file: "{name}-log{ext}".</summary>
    internal static string LogFileOf(string path) =>
        Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-log" + Path.GetExtension(path));

    private static void DeleteDatabaseFiles(string path)
    {
        File.Delete(path);
        File.Delete(LogFileOf(path));
    }

    /// <summary>A stored batch with each of its event records sealed (LiteDbSpool.Batches.cs).</summary>
    private static BsonDocument SealBatch(BsonDocument batch, SpoolCipher cipher)
    {
        batch[B_Events] = new BsonArray(batch[B_Events].AsArray.Select(e => (BsonValue)SealEvent(e.AsDocument, cipher)));
        return batch;
    }
}
