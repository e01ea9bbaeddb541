using System.Globalization;
using ImLogger.Conversations;
using LiteDB;

namespace ImLogger.Spool;

/// <summary>
/// What a spool record must hold before it is mapped: every field this version reads, with its BSON type, and enums by a
/// name this version knows. LiteDB's conversions are lenient (a missing field reads as null or 0, <c>Enum.Parse</c> takes
/// "42"), so without this a record from a newer version or a damaged one would either throw somewhere deep in a delivery
/// pass, every pass, or be delivered wrong (a transcript dated year 1, an event without a sender). A record that fails is
/// quarantined with the problem named (<see cref="SpoolRecordException"/>). Fields this version does not read are ignored:
/// a newer version may add some.
/// </summary>
internal static partial class SpoolDocuments
{
    /// <summary>The record id of a transcript's header, as errors and the quarantine name it.</summary>
    public static string TranscriptRecordId(string transcriptId) => "transcript:" + transcriptId;

    /// <summary>A record's _id as text (a hostile record may have an _id that is not a string).</summary>
    public static string IdText(BsonValue id) => id.IsString ? id.AsString : JsonSerializer.Serialize(id);

    /// <summary>Checks one value; returns what is wrong with it, or null.</summary>
    private delegate string? FieldRule(BsonValue value);

    private sealed record Field(string Name, bool Required, FieldRule Rule);

    private static readonly FieldRule Text = v => v.IsString ? null : $"is {Describe(v)}, not text";

    private static readonly FieldRule Ticks = v =>
        !(v.IsInt64 || v.IsInt32) ? $"is {Describe(v)}, not a time"
        : v.AsInt64 is < 0 or > 3155378975999999999 ? $"is {v.AsInt64.ToString(CultureInfo.InvariantCulture)}, not a time" : null;

    private static readonly FieldRule Count = v =>
        !(v.IsInt32 || (v.IsInt64 && v.AsInt64 is >= int.MinValue and <= int.MaxValue)) ? $"is {Describe(v)}, not a count"
        : v.AsInt32 < 0 ? "is negative" : null;

    private static readonly FieldRule Number = v => v.IsInt32 || v.IsInt64 ? null : $"is {Describe(v)}, not a number";

    private static FieldRule Name<T>() where T : struct, Enum
    {
        // Exactly the names this version writes: Enum.Parse would also take "42" and "A, B".
        var names = Enum.GetNames<T>().ToHashSet(StringComparer.Ordinal);
        return v =>
            !v.IsString ? $"is {Describe(v)}, not the name of a {Words(typeof(T).Name)}"
            : names.Contains(v.AsString) ? null
            : $"is '{Shown(v.AsString)}': this version knows no such {Words(typeof(T).Name)}";
    }

    private static FieldRule ArrayOf(FieldRule item) => v =>
    {
        if (!v.IsArray) return $"is {Describe(v)}, not a list";
        var items = v.AsArray;
        for (var i = 0; i < items.Count; i++)
            if (item(items[i]) is { } problem) return $"item {i.ToString(CultureInfo.InvariantCulture)} {problem}";
        return null;
    };

    private static FieldRule DocumentOf(Field[] fields) => v =>
        !v.IsDocument ? $"is {Describe(v)}, not a document" : Check(v.AsDocument, fields) is { } problem ? $"has {problem}" : null;

    private static readonly Field[] DeliveryFields =
    [
        new(D_Endpoint, true, Text),
        new(D_State, true, Name<DeliveryState>()),
        new(D_Attempts, true, Count),
        new(D_Next, false, Ticks),
        new(D_Error, false, Text),
    ];

    private static readonly Field[] HeaderFields =
    [
        new(F_Id, true, Text),
        new(F_Type, true, Name<ConversationType>()),
        new(F_Opened, true, Ticks),
        new(F_LastEvent, true, Ticks),
        new(F_Closed, false, Ticks),
        new(F_State, true, Name<TranscriptState>()),
        new(F_EventCount, true, Count),
        new(F_Deliveries, true, ArrayOf(DocumentOf(DeliveryFields))),
    ];

    private static readonly Field[] PlainKeyField = [new(F_Key, true, Text)];

    private static readonly Field[] EventFields =
    [
        new(F_Id, true, Text),
        new(E_TranscriptId, true, Text),
        new(E_Sequence, true, Count),
        new(E_EventId, true, Text),
        new(E_Received, true, Ticks),
        new(E_Kind, true, Name<EventKind>()),
        new(E_Direction, true, Name<Direction>()),
        new(E_ConversationType, true, Name<ConversationType>()),
        new(E_Key, true, Text),
        new(E_From, true, Text),
        new(E_To, true, Text),
        new(E_SenderBareJid, false, Text),
        new(E_Nick, false, Text),
        new(E_DisplayName, false, Text),
        new(E_Text, false, Text),
        new(E_Html, false, Text),
        new(E_StanzaId, false, Text),
        new(E_StanzaType, false, Text),
        new(E_StatusCodes, true, ArrayOf(v => v.IsInt32 ? null : $"is {Describe(v)}, not a status code")),
        new(E_LoggedUsers, true, ArrayOf(Text)),
        new(E_RawXml, true, Text),
        new(E_OriginId, false, Text),
        new(E_ServerStanzaId, false, Text),
        new(E_RelatedId, false, Text),
        new(E_Room, false, Text),
        new(E_Inviter, false, Text),
        new(E_Invitee, false, Text),
        new(E_Reason, false, Text),
        new(E_Rule, false, RuleName),
        new(E_FileName, false, Text),
        new(E_FileSize, false, Number),
        new(E_FileMediaType, false, Text),
        new(E_Url, false, Text),
        new(E_SessionId, false, Text),
        new(E_CallMedia, false, Name<CallMedia>()),
        new(E_DurationTicks, false, Number),
        new(E_EncryptionScheme, false, Text),
    ];

    private static string? Check(BsonDocument doc, Field[] fields)
    {
        foreach (var field in fields)
        {
            if (!doc.TryGetValue(field.Name, out var value) || value.IsNull)
            {
                if (field.Required) return $"no field '{field.Name}'";
                continue;
            }
            if (field.Rule(value) is { } problem) return $"its field '{field.Name}' {problem}";
        }
        return null;
    }

    /// <summary>What is wrong with a transcript header document for this version, or null when it can be read.</summary>
    public static string? HeaderProblem(BsonDocument doc)
    {
        if (Check(doc, HeaderFields) is { } problem) return problem;
        // The conversation key is stored plain, or sealed in an encrypted spool (checked when it is opened).
        var isSealed = doc.TryGetValue(F_KeySealed, out var sealedKey) && sealedKey.IsBinary;
        return isSealed ? null : Check(doc, PlainKeyField);
    }

    /// <summary>What is wrong with an (unsealed) event document for this version, or null when it can be read.</summary>
    public static string? EventProblem(BsonDocument doc) => Check(doc, EventFields);

    /// <summary>A transcript header, checked first: an unreadable one throws instead of mapping to wrong values.</summary>
    /// <exception cref="SpoolRecordException">The document is not a transcript header this version can read.</exception>
    public static TranscriptHeader ReadHeader(BsonDocument doc, SpoolCipher? cipher, bool strict)
    {
        var recordId = TranscriptRecordId(doc.TryGetValue(F_Id, out var id) ? IdText(id) : "(no id)");
        if (HeaderProblem(doc) is { } problem) throw new SpoolRecordException(recordId, problem, SpoolRecordException.UnknownAdvice);
        return ToHeader(doc, cipher, strict);
    }

    /// <summary>An event document mapped after the check.</summary>
    /// <exception cref="SpoolRecordException">The document is not an event this version can read.</exception>
    private static ConversationEvent ReadEvent(BsonDocument doc, string recordId) =>
        EventProblem(doc) is { } problem ? throw new SpoolRecordException(recordId, problem, SpoolRecordException.UnknownAdvice) : ToEvent(doc);

    /// <summary>"EventKind" as "event kind".</summary>
    private static string Words(string typeName) =>
        string.Concat(typeName.Select((c, i) => char.IsUpper(c) && i > 0 ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static string Describe(BsonValue v) => v.Type switch
    {
        BsonType.Null => "null",
        BsonType.String => "text",
        BsonType.Array => "a list",
        BsonType.Document => "a document",
        BsonType.Binary => "binary",
        BsonType.Int32 => "a 32-bit number",
        BsonType.Int64 => "a 64-bit number",
        BsonType.Double or BsonType.Decimal => "a decimal number",
        BsonType.Boolean => "true or false",
        BsonType.DateTime => "a date",
        BsonType.ObjectId => "an object id",
        BsonType.Guid => "a GUID",
        var t => t.ToString(),
    };

    /// <summary>A value quoted in a problem: short, one line (it is an enum name from a newer version, or damage).</summary>
    private static string Shown(string value)
    {
        var oneLine = new string(value.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return value.Length > 40 ? oneLine + "…" : oneLine;
    }
}
