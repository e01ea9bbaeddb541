using ImLogger.Conversations;
using LiteDB;

namespace ImLogger.Spool;

/// <summary>
/// Sealed records, in a spool with a key file: an event is stored as its whole BSON document sealed by
/// <see cref="SpoolCipher"/> (only its ids and order stay readable, for the spool's queries), and a transcript's
/// conversation key (who talks to whom) is sealed too. Each is bound to its record id.
/// </summary>
internal static partial class SpoolDocuments
{
    /// <summary>The associated data of an event record: its _id, so a record read under another id fails.</summary>
    public static string EventRecordId(string eventKey) => "event:" + eventKey;

    /// <summary>The associated data of a transcript's sealed conversation key.</summary>
    public static string KeyRecordId(string transcriptId) => "transcript-key:" + transcriptId;

    /// <summary>What a header shows for a conversation key that fails authentication (its transcript is quarantined by
    /// <see cref="LiteDbSpool.Load"/>, but listing the spool must go on).</summary>
    public const string UnreadableKey = "(unreadable: altered spool record)";

    public static BsonDocument ToDocument(TranscriptHeader header, SpoolCipher? cipher) => SealKey(ToDocument(header), cipher);

    /// <summary>Replaces the plain conversation key (who talks to whom) by its sealed form.</summary>
    public static BsonDocument SealKey(BsonDocument header, SpoolCipher? cipher)
    {
        if (cipher is null || !header.TryGetValue(F_Key, out var key) || !key.IsString) return header;
        header[F_KeySealed] = cipher.Seal(System.Text.Encoding.UTF8.GetBytes(key.AsString), KeyRecordId(header[F_Id].AsString));
        header.Remove(F_Key);
        return header;
    }

    /// <summary>A header's conversation key.</summary>
    /// <param name="doc">The transcript document.</param>
    /// <param name="cipher">The spool's cipher, when it is encrypted.</param>
    /// <param name="strict">Throw for an unreadable key (loading for delivery) rather than show <see cref="UnreadableKey"/> (listing).</param>
    /// <exception cref="SpoolRecordException">Strict, and the key is altered, or not sealed in an encrypted spool.</exception>
    public static string KeyOf(BsonDocument doc, SpoolCipher? cipher, bool strict)
    {
        var id = doc[F_Id].AsString;
        try
        {
            if (doc.TryGetValue(F_KeySealed, out var sealedKey) && sealedKey.IsBinary)
            {
                if (cipher is null) throw new SpoolRecordException(KeyRecordId(id), "it is encrypted, and no key file is configured");
                return System.Text.Encoding.UTF8.GetString(cipher.Open(sealedKey.AsBinary, KeyRecordId(id)));
            }
            if (cipher is not null) throw new SpoolRecordException(KeyRecordId(id), "it is not encrypted, in an encrypted spool: it was not written by ImLogger");
            return doc[F_Key].AsString;
        }
        catch (SpoolRecordException) when (!strict)
        {
            return UnreadableKey;
        }
    }

    /// <summary>An event document as stored: sealed whole (only the ids and the order stay readable, for the spool's
    /// queries) when the spool is encrypted.</summary>
    public static BsonDocument ToStoredDocument(string transcriptId, int sequence, ConversationEvent e, SpoolCipher? cipher) =>
        SealEvent(ToDocument(transcriptId, sequence, e), cipher);

    /// <summary>Seals an event document (a no-op without a cipher, or for one sealed already).</summary>
    public static BsonDocument SealEvent(BsonDocument doc, SpoolCipher? cipher)
    {
        if (cipher is null || doc.ContainsKey(E_Sealed)) return doc;
        var key = doc[F_Id].AsString;
        return new BsonDocument
        {
            [F_Id] = key,
            [E_TranscriptId] = doc[E_TranscriptId],
            [E_Sequence] = doc[E_Sequence],
            [E_EventId] = doc[E_EventId],
            [E_Sealed] = cipher.Seal(BsonSerializer.Serialize(doc), EventRecordId(key)),
        };
    }

    /// <summary>Reads a stored event document back.</summary>
    /// <exception cref="SpoolRecordException">The record fails authentication, its readable ids disagree with the sealed
    /// ones, it is not sealed in an encrypted spool (or sealed in a spool opened without a key), or it is not an event this
    /// version can read (<see cref="EventProblem"/>).</exception>
    public static ConversationEvent ToEvent(BsonDocument doc, SpoolCipher? cipher)
    {
        var key = doc[F_Id].AsString;
        var recordId = EventRecordId(key);
        var isSealed = doc.TryGetValue(E_Sealed, out var sealedValue) && sealedValue.IsBinary;
        if (cipher is null)
            return isSealed ? throw new SpoolRecordException(recordId, "it is encrypted, and no key file is configured") : ReadEvent(doc, recordId);
        if (!isSealed) throw new SpoolRecordException(recordId, "it is not encrypted, in an encrypted spool: it was not written by ImLogger");
        BsonDocument inner;
        try
        {
            inner = BsonSerializer.Deserialize(cipher.Open(sealedValue.AsBinary, recordId));
        }
        catch (Exception ex) when (ex is not SpoolRecordException)
        {
            throw new SpoolRecordException(recordId, $"its content is not a spool event ({ex.Message})");
        }
        // The readable ids are what queries use: they must say what the sealed record says.
        if (inner[F_Id] != doc[F_Id] || inner[E_TranscriptId] != doc[E_TranscriptId] || inner[E_Sequence] != doc[E_Sequence] || inner[E_EventId] != doc[E_EventId])
            throw new SpoolRecordException(recordId, "its readable ids (transcript, sequence, event id) were changed");
        return ReadEvent(inner, recordId);
    }
}
