using System.Globalization;
using ImLogger.Conversations;
using LiteDB;

namespace ImLogger.Spool;

/// <summary>
/// Explicit BSON mapping of the spool's documents. No reflection mapper: every field is named here,
/// enums are stored by name, instants as UTC ticks (full 100 ns precision, no offset surprises).
/// </summary>
internal static partial class SpoolDocuments
{
    public const string TranscriptsCollection = "transcripts";
    public const string EventsCollection = "events";

    // transcripts
    public const string F_Id = "_id";
    public const string F_Type = "type";
    public const string F_Key = "key";
    public const string F_Opened = "opened";
    public const string F_LastEvent = "lastEvent";
    public const string F_Closed = "closed";
    public const string F_State = "state";
    public const string F_EventCount = "eventCount";
    public const string F_Deliveries = "deliveries";

    // deliveries
    public const string D_Endpoint = "endpoint";
    public const string D_State = "state";
    public const string D_Attempts = "attempts";
    public const string D_Next = "next";
    public const string D_Error = "error";
    public const string D_PartsAccepted = "partsAccepted";
    public const string D_CopyMayExist = "copyMayExist";
    public const string D_EventsAccepted = "eventsAccepted";

    // events
    public const string E_TranscriptId = "tid";
    public const string E_Sequence = "seq";
    public const string E_EventId = "id";
    public const string E_Received = "received";
    public const string E_Kind = "kind";
    public const string E_Direction = "direction";
    public const string E_ConversationType = "ctype";
    public const string E_Key = "key";
    public const string E_From = "from";
    public const string E_To = "to";
    public const string E_SenderBareJid = "sender";
    public const string E_Nick = "nick";
    public const string E_DisplayName = "displayName";
    public const string E_Text = "text";
    public const string E_Html = "html";
    public const string E_StanzaId = "stanzaId";
    public const string E_StanzaType = "stanzaType";
    public const string E_StatusCodes = "status";
    public const string E_LoggedUsers = "users";
    public const string E_RawXml = "raw";
    public const string E_OriginId = "originId";
    public const string E_ServerStanzaId = "serverStanzaId";
    public const string E_RelatedId = "relatedId";
    public const string E_Room = "room";
    public const string E_Inviter = "inviter";
    public const string E_Invitee = "invitee";
    public const string E_Reason = "reason";
    public const string E_Rule = "rule";
    public const string E_FileName = "fileName";
    public const string E_FileSize = "fileSize";
    public const string E_FileMediaType = "fileType";
    public const string E_Url = "url";
    public const string E_SessionId = "sessionId";
    public const string E_CallMedia = "callMedia";
    public const string E_DurationTicks = "duration";
    public const string E_EncryptionScheme = "encryption";
    public const string E_HistorySaid = "historySaid";

    // sealed records (a spool with a key file): the record's BSON as nonce||ciphertext||tag, see SpoolCipher
    public const string E_Sealed = "sealed";
    public const string F_KeySealed = "keySealed";

    /// <summary>
    /// The events' primary key: "{transcriptId}:{sequence:D10}". It is LiteDB's unique, ordered _id index,
    /// so it doubles as the transcriptId+sequence index: a prefix scan returns a transcript's events in order.
    /// </summary>
    public static string EventKey(string transcriptId, int sequence) =>
        transcriptId + ":" + sequence.ToString("D10", CultureInfo.InvariantCulture);

    public static string EventKeyPrefix(string transcriptId) => transcriptId + ":";

    public static BsonValue Instant(DateTimeOffset value) => new BsonValue(value.UtcTicks);

    public static BsonValue Instant(DateTimeOffset? value) => value is { } v ? Instant(v) : BsonValue.Null;

    public static DateTimeOffset ToInstant(BsonValue value) => new(value.AsInt64, TimeSpan.Zero);

    public static DateTimeOffset? ToNullableInstant(BsonValue value) => value.IsNull ? null : ToInstant(value);

    private static BsonValue Str(string? value) => value is null ? BsonValue.Null : new BsonValue(value);

    private static string? ToStr(BsonValue value) => value.IsNull ? null : value.AsString;

    private static T ToEnum<T>(BsonValue value) where T : struct, Enum => Enum.Parse<T>(value.AsString, ignoreCase: false);

    // Fields added after the first release are read with Get: documents spooled by an older version lack them.
    private static BsonValue Get(BsonDocument doc, string field) => doc.TryGetValue(field, out var v) ? v : BsonValue.Null;

    private static BsonValue Long(long? value) => value is { } v ? new BsonValue(v) : BsonValue.Null;

    private static long? ToLong(BsonValue value) => value.IsNull ? null : value.AsInt64;

    private static BsonDocument ToDocument(TranscriptHeader header) => new()
    {
        [F_Id] = header.Id,
        [F_Type] = header.ConversationType.ToString(),
        [F_Key] = header.ConversationKey,
        [F_Opened] = Instant(header.OpenedUtc),
        [F_LastEvent] = Instant(header.LastEventUtc),
        [F_Closed] = Instant(header.ClosedUtc),
        [F_State] = header.State.ToString(),
        [F_EventCount] = header.EventCount,
        [F_Deliveries] = new BsonArray(header.Deliveries.Select(ToDocument)),
    };

    public static BsonDocument ToDocument(EndpointDelivery delivery) => new()
    {
        [D_Endpoint] = delivery.Endpoint,
        [D_State] = delivery.State.ToString(),
        [D_Attempts] = delivery.Attempts,
        [D_Next] = Instant(delivery.NextAttemptUtc),
        [D_Error] = Str(delivery.LastError),
        [D_PartsAccepted] = delivery.PartsAccepted,
        [D_EventsAccepted] = delivery.EventsAccepted,
        [D_CopyMayExist] = Instant(delivery.CopyMayExistSinceUtc),
    };

    public static TranscriptHeader ToHeader(BsonDocument doc, SpoolCipher? cipher, bool strict = false) => new()
    {
        Id = doc[F_Id].AsString,
        ConversationType = ToEnum<ConversationType>(doc[F_Type]),
        ConversationKey = KeyOf(doc, cipher, strict),
        OpenedUtc = ToInstant(doc[F_Opened]),
        LastEventUtc = ToInstant(doc[F_LastEvent]),
        ClosedUtc = ToNullableInstant(doc[F_Closed]),
        State = ToEnum<TranscriptState>(doc[F_State]),
        EventCount = doc[F_EventCount].AsInt32,
        Deliveries = doc[F_Deliveries].AsArray.Select(d => ToDelivery(d.AsDocument)).ToList(),
    };

    public static EndpointDelivery ToDelivery(BsonDocument doc) => new()
    {
        Endpoint = doc[D_Endpoint].AsString,
        State = ToEnum<DeliveryState>(doc[D_State]),
        Attempts = doc[D_Attempts].AsInt32,
        NextAttemptUtc = ToNullableInstant(doc[D_Next]),
        LastError = ToStr(doc[D_Error]),
        // Absent in spools written before deliveries in parts were tracked: nothing accepted.
        PartsAccepted = doc.TryGetValue(D_PartsAccepted, out var parts) && parts.IsInt32 ? parts.AsInt32 : 0,
        EventsAccepted = doc.TryGetValue(D_EventsAccepted, out var events) && events.IsInt32 ? events.AsInt32 : 0,
        // Absent in spools written before unknown outcomes were recorded.
        CopyMayExistSinceUtc = doc.TryGetValue(D_CopyMayExist, out var copy) ? ToNullableInstant(copy) : null,
    };

    /// <summary>An event's record. Fields without a value are left out rather than stored as null: readers of every version
    /// read a missing field as null (<c>BsonDocument</c>'s indexer), and half the fields of a typical event are empty, so
    /// this saves their dictionary entries and their names in the stored bytes (the spool's largest cost per event).</summary>
    public static BsonDocument ToDocument(string transcriptId, int sequence, ConversationEvent e)
    {
        var doc = new BsonDocument
        {
            [F_Id] = EventKey(transcriptId, sequence),
            [E_TranscriptId] = transcriptId,
            [E_Sequence] = sequence,
            [E_EventId] = e.Id,
            [E_Received] = Instant(e.ReceivedUtc),
            [E_Kind] = e.Kind.ToString(),
            [E_Direction] = e.Direction.ToString(),
            [E_ConversationType] = e.ConversationType.ToString(),
            [E_Key] = e.ConversationKey,
            [E_From] = e.From,
            [E_To] = e.To,
            [E_StatusCodes] = StatusCodes(e.StatusCodes),
            [E_LoggedUsers] = Texts(e.LoggedUsers),
            [E_RawXml] = e.RawXml,
        };
        Optional(doc, E_SenderBareJid, e.SenderBareJid);
        Optional(doc, E_Nick, e.Nick);
        Optional(doc, E_DisplayName, e.DisplayName);
        Optional(doc, E_Text, e.Text);
        Optional(doc, E_Html, e.Html);
        Optional(doc, E_StanzaId, e.StanzaId);
        Optional(doc, E_StanzaType, e.StanzaType);
        Optional(doc, E_OriginId, e.OriginId);
        Optional(doc, E_ServerStanzaId, e.ServerStanzaId);
        Optional(doc, E_RelatedId, e.RelatedId);
        Optional(doc, E_Room, e.Room);
        Optional(doc, E_Inviter, e.Inviter);
        Optional(doc, E_Invitee, e.Invitee);
        Optional(doc, E_Reason, e.Reason);
        Optional(doc, E_Rule, e.Rule?.Name()); // the stable name (SpoolDocuments.Refusals.cs)
        Optional(doc, E_FileName, e.FileName);
        if (e.FileSize is { } size) doc[E_FileSize] = size;
        Optional(doc, E_FileMediaType, e.FileMediaType);
        Optional(doc, E_Url, e.Url);
        Optional(doc, E_SessionId, e.SessionId);
        if (e.CallMedia is { } media) doc[E_CallMedia] = media.ToString();
        if (e.Duration is { } duration) doc[E_DurationTicks] = duration.Ticks;
        Optional(doc, E_EncryptionScheme, e.EncryptionScheme);
        if (e.HistorySaidUtc is { } said) doc[E_HistorySaid] = said.UtcDateTime;
        return doc;
    }

    private static void Optional(BsonDocument doc, string field, string? value)
    {
        if (value is not null) doc[field] = value;
    }

    private static BsonArray StatusCodes(IReadOnlyList<int> codes)
    {
        var array = new BsonArray();
        for (var i = 0; i < codes.Count; i++) array.Add(codes[i]);
        return array;
    }

    private static BsonArray Texts(IReadOnlyList<string> texts)
    {
        var array = new BsonArray();
        for (var i = 0; i < texts.Count; i++) array.Add(texts[i]);
        return array;
    }

    public static ConversationEvent ToEvent(BsonDocument doc) => WithRule(doc, new()
    {
        Id = doc[E_EventId].AsString,
        ReceivedUtc = ToInstant(doc[E_Received]),
        Kind = ToEnum<EventKind>(doc[E_Kind]),
        Direction = ToEnum<Direction>(doc[E_Direction]),
        ConversationType = ToEnum<ConversationType>(doc[E_ConversationType]),
        ConversationKey = doc[E_Key].AsString,
        From = doc[E_From].AsString,
        To = doc[E_To].AsString,
        SenderBareJid = ToStr(doc[E_SenderBareJid]),
        Nick = ToStr(doc[E_Nick]),
        DisplayName = ToStr(Get(doc, E_DisplayName)), // absent in spools written before it existed
        Text = ToStr(doc[E_Text]),
        Html = ToStr(doc[E_Html]),
        StanzaId = ToStr(doc[E_StanzaId]),
        StanzaType = ToStr(doc[E_StanzaType]),
        StatusCodes = doc[E_StatusCodes].AsArray.Select(v => v.AsInt32).ToList(),
        LoggedUsers = doc[E_LoggedUsers].AsArray.Select(v => v.AsString).ToList(),
        RawXml = doc[E_RawXml].AsString,
        OriginId = ToStr(Get(doc, E_OriginId)),
        ServerStanzaId = ToStr(Get(doc, E_ServerStanzaId)),
        RelatedId = ToStr(Get(doc, E_RelatedId)),
        Room = ToStr(Get(doc, E_Room)),
        Inviter = ToStr(Get(doc, E_Inviter)),
        Invitee = ToStr(Get(doc, E_Invitee)),
        Reason = ToStr(Get(doc, E_Reason)),
        FileName = ToStr(Get(doc, E_FileName)),
        FileSize = ToLong(Get(doc, E_FileSize)),
        FileMediaType = ToStr(Get(doc, E_FileMediaType)),
        Url = ToStr(Get(doc, E_Url)),
        SessionId = ToStr(Get(doc, E_SessionId)),
        CallMedia = Get(doc, E_CallMedia) is { IsNull: false } m ? ToEnum<CallMedia>(m) : null,
        Duration = ToLong(Get(doc, E_DurationTicks)) is { } ticks ? TimeSpan.FromTicks(ticks) : null,
        EncryptionScheme = ToStr(Get(doc, E_EncryptionScheme)),
        HistorySaidUtc = Get(doc, E_HistorySaid) is { IsDateTime: true } said ? new DateTimeOffset(DateTime.SpecifyKind(said.AsDateTime, DateTimeKind.Utc)) : null,
    });
}
