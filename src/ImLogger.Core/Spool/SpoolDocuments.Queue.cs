using System.Globalization;
using System.Text;
using LiteDB;

namespace ImLogger.Spool;

/// <summary>
/// The delivery queue's documents: one per (transcript, endpoint) owed, created when the transcript closes and deleted
/// when the endpoint confirms it. The queue is what the dispatcher and the operator's commands read; the transcript
/// header keeps its own copy of each delivery (what <see cref="TranscriptHeader.Deliveries"/> returns), written in the
/// same transaction, and the queue is checked against the headers each time the spool opens.
/// </summary>
/// <remarks>
/// LiteDB 5 has no compound index, so the two keys the queue is read by are computed strings, each one indexed field:
/// <list type="bullet">
/// <item><see cref="Q_Due"/>: "{endpoint}zp{due:D19}{closed:D19}{transcript}" for a pending delivery, where due is the next
/// attempt in UTC ticks, or 0 when the delivery was never tried (or was requeued): due at once whatever the clock says;
/// "{endpoint}zd{closed:D19}{transcript}" for a dead one. "Due for endpoint X at T, at most N" is then one index range
/// from "{X}zp" to "{X}zp{T}z", read in order and stopped after N entries.</item>
/// <item><see cref="Q_Oldest"/>: "{endpoint}z{closed:D19}{transcript}": the endpoint's oldest transcript is the range's
/// first entry (<c>spool status</c>).</item>
/// </list>
/// The endpoint is written as lowercase hex of its UTF-8 bytes and every other part is digits, hex or the letters z, p
/// and d, so LiteDB's collation (culture-aware, case-insensitive by default) orders the keys as ordinal comparison would:
/// two names differing only in case stay apart, and no name is a prefix that captures another's range ('z' is above
/// every hex digit).
/// </remarks>
internal static partial class SpoolDocuments
{
    public const string QueueCollection = "queue";
    public const string QueueCountsCollection = "queueCounts";
    public const string QueueTotalsCollection = "queueTotals";

    // queue entries
    public const string Q_Transcript = "t";
    public const string Q_Endpoint = "e";
    public const string Q_State = "s";
    public const string Q_Attempts = "a";
    public const string Q_Next = "n";
    public const string Q_Closed = "c";
    public const string Q_Error = "err";
    public const string Q_Due = "q";
    public const string Q_Oldest = "o";

    /// <summary>The endpoint's key while an attempt's outcome was unknown (a copy may exist), else absent: indexed, so the
    /// few such deliveries are counted without reading the queue.</summary>
    public const string Q_Copy = "copy";

    // the one total: closed transcripts still owed to some endpoint
    public const string T_Transcripts = "transcripts";
    public const string T_Count = "n";

    // per-endpoint counters, maintained in the transaction that changes the queue
    public const string C_Endpoint = "e";
    public const string C_Pending = "p";
    public const string C_Dead = "d";

    public static string EndpointKey(string endpoint) => Convert.ToHexStringLower(Encoding.UTF8.GetBytes(endpoint));

    public static string QueueId(string transcriptId, string endpoint) => transcriptId + "/" + EndpointKey(endpoint);

    private static string SortableTicks(long ticks) => ticks.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>The lowest and highest <see cref="Q_Due"/> of the endpoint's pending deliveries due at <paramref name="nowTicks"/>.</summary>
    public static (string From, string To) DueRange(string endpoint, long nowTicks) =>
        (EndpointKey(endpoint) + "zp", EndpointKey(endpoint) + "zp" + SortableTicks(nowTicks) + "z");

    /// <summary>The <see cref="Q_Due"/> range of the endpoint's pending deliveries whose next attempt is after <paramref name="afterTicks"/>.</summary>
    public static (string From, string To) ScheduledAfterRange(string endpoint, long afterTicks) =>
        (EndpointKey(endpoint) + "zp" + SortableTicks(afterTicks) + "z", EndpointKey(endpoint) + "zpz");

    /// <summary>The range of <see cref="Q_Due"/> holding the endpoint's dead deliveries.</summary>
    public static (string From, string To) DeadRange(string endpoint) => (EndpointKey(endpoint) + "zd", EndpointKey(endpoint) + "zdz");

    /// <summary>The range of <see cref="Q_Oldest"/> holding all of the endpoint's deliveries.</summary>
    public static (string From, string To) OldestRange(string endpoint) => (EndpointKey(endpoint) + "z", EndpointKey(endpoint) + "zz");

    /// <summary>A queue entry for one delivery of a closed transcript, its keys computed from its fields.</summary>
    public static BsonDocument ToQueueEntry(string transcriptId, long closedTicks, EndpointDelivery delivery)
    {
        var entry = new BsonDocument
        {
            [F_Id] = QueueId(transcriptId, delivery.Endpoint),
            [Q_Transcript] = transcriptId,
            [Q_Endpoint] = delivery.Endpoint,
            [Q_Closed] = closedTicks,
        };
        SetQueueState(entry, delivery.State, delivery.Attempts, delivery.NextAttemptUtc?.UtcTicks, delivery.LastError);
        if (delivery.CopyMayExistSinceUtc is not null) entry[Q_Copy] = EndpointKey(delivery.Endpoint);
        return entry;
    }

    /// <summary>Sets an entry's state and recomputes its keys.</summary>
    public static void SetQueueState(BsonDocument entry, DeliveryState state, int attempts, long? nextTicks, string? error)
    {
        var endpoint = EndpointKey(entry[Q_Endpoint].AsString);
        var transcript = entry[Q_Transcript].AsString;
        var closed = SortableTicks(entry[Q_Closed].AsInt64);
        entry[Q_State] = state.ToString();
        entry[Q_Attempts] = attempts;
        entry[Q_Next] = nextTicks is { } n ? new BsonValue(n) : BsonValue.Null;
        entry[Q_Error] = error is null ? BsonValue.Null : new BsonValue(error);
        entry[Q_Due] = state == DeliveryState.Dead
            ? endpoint + "zd" + closed + transcript
            : endpoint + "zp" + SortableTicks(nextTicks ?? 0) + closed + transcript;
        entry[Q_Oldest] = endpoint + "z" + closed + transcript;
    }

    /// <summary>The state an entry records, to compare with its transcript header's copy.</summary>
    public static (DeliveryState State, int Attempts, long? Next) QueueStateOf(BsonDocument entry) =>
        (Enum.Parse<DeliveryState>(entry[Q_State].AsString), entry[Q_Attempts].AsInt32, entry[Q_Next].IsNull ? null : entry[Q_Next].AsInt64);
}
