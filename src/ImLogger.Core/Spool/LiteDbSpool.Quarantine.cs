using ImLogger.Conversations;
using LiteDB;
using Microsoft.Extensions.Logging;
using static ImLogger.Spool.SpoolDocuments;

namespace ImLogger.Spool;

/// <summary>A transcript set aside because one of its records cannot be read (see <see cref="SpoolRecordException"/>).</summary>
public sealed record QuarantinedTranscript
{
    /// <summary>The transcript's id (<c>imlogger spool show ID</c>, <c>imlogger spool release-quarantined ID</c>).</summary>
    public required string TranscriptId { get; init; }

    /// <summary>The record that could not be read, e.g. "event:{id}:0000000003".</summary>
    public required string RecordId { get; init; }

    /// <summary>What is wrong with it.</summary>
    public required string Problem { get; init; }

    /// <summary>What the operator can do.</summary>
    public required string Advice { get; init; }

    /// <summary>When it was first found unreadable (wall time, for display).</summary>
    public required DateTimeOffset SinceUtc { get; init; }

    /// <summary>The conversation as far as the record can be read (type and key), or why not.</summary>
    public required string Conversation { get; init; }

    /// <summary>The transcript's state as stored (a newer version may store one this version does not know).</summary>
    public required string State { get; init; }

    /// <summary>The endpoints it is owed to, as far as they can be read.</summary>
    public required IReadOnlyList<string> Endpoints { get; init; }
}

/// <summary>What <see cref="LiteDbSpool.ReleaseQuarantined"/> did with one quarantined transcript.</summary>
/// <param name="TranscriptId">The transcript.</param>
/// <param name="Released">True when it left the quarantine (readable now, or gone from the spool).</param>
/// <param name="Outcome">What happened, for the operator.</param>
public sealed record QuarantineRelease(string TranscriptId, bool Released, string Outcome);

/// <summary>
/// The quarantine: transcripts with a record this version cannot read are listed in the collection <c>quarantine</c>
/// (id, the failing record, the problem, what to do, since when) and left out of delivery, recovery and listings, so one
/// unreadable record never stops the others. The records themselves stay as they are: a version that reads them (after
/// an upgrade, or with the right key file) releases them with <see cref="ReleaseQuarantined"/>. Unreadable records are
/// found where they are read (listing, delivery, recovery at start) and quarantined there.
/// </summary>
public sealed partial class LiteDbSpool
{
    private const string QuarantineCollection = "quarantine";
    private const string Q_TranscriptId = "tid";
    private const string Q_Record = "record";
    private const string Q_Problem = "problem";
    private const string Q_Advice = "advice";
    private const string Q_Since = "since";

    /// <summary>Ids of quarantined transcripts (under <see cref="_gate"/>; loaded on first use, dropped after a release).</summary>
    private HashSet<string>? _quarantinedIds;

    private ILiteCollection<BsonDocument> QuarantineRecords => _db.GetCollection(QuarantineCollection);

    private HashSet<string> QuarantinedIds() =>
        _quarantinedIds ??= QuarantineRecords.FindAll().Select(d => IdText(d[F_Id])).ToHashSet(StringComparer.Ordinal);

    private bool IsQuarantined(BsonDocument transcript) => QuarantinedIds().Contains(IdText(transcript[F_Id]));

    /// <summary>Reads transcript headers; documents this version cannot read are left out and quarantined (in a write of
    /// their own, after the read).</summary>
    private List<TranscriptHeader> ReadHeaders(Func<IEnumerable<BsonDocument>> find, Func<IEnumerable<TranscriptHeader>, IEnumerable<TranscriptHeader>> shape)
    {
        var unreadable = new List<(BsonValue Id, SpoolRecordException Error)>();
        var headers = Read(() =>
        {
            unreadable.Clear();
            var readable = new List<TranscriptHeader>();
            foreach (var doc in find())
            {
                if (IsQuarantined(doc)) continue;
                try
                {
                    readable.Add(ReadHeader(doc, _cipher, strict: false));
                }
                catch (SpoolRecordException e)
                {
                    unreadable.Add((doc[F_Id], e));
                }
            }
            return shape(readable).ToList();
        });
        if (unreadable.Count > 0) Quarantine(unreadable);
        return headers;
    }

    /// <summary>The transcript with its events, from the open database (under the gate).</summary>
    /// <exception cref="SpoolRecordException">A record of it cannot be read.</exception>
    private Transcript? LoadUnlocked(string transcriptId)
    {
        var doc = _transcripts.FindById(transcriptId);
        if (doc is null) return null;
        try
        {
            var header = ReadHeader(doc, _cipher, strict: true);
            var events = StoredEventsOf(transcriptId, doc)
                .Select(d => d[E_TranscriptId] == transcriptId ? d
                    : throw new SpoolRecordException(EventRecordId(IdText(d[F_Id])), "it is stored among another transcript's events"))
                .OrderBy(d => d[E_Sequence].AsInt32)
                .Select(d => ToEvent(d, _cipher))
                .ToList();
            return new Transcript
            {
                Id = header.Id,
                ConversationType = header.ConversationType,
                ConversationKey = header.ConversationKey,
                OpenedUtc = header.OpenedUtc,
                ClosedUtc = header.ClosedUtc ?? header.LastEventUtc,
                Events = events,
            };
        }
        // What the schema check does not cover (a readable id of a sealed event of the wrong type, say) surfaces as LiteDB's
        // lenient conversions failing: AsArray is null for a non-array, AsInt32 throws on text. Still this record's problem.
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or NullReferenceException or ArgumentException)
        {
            throw new SpoolRecordException(TranscriptRecordId(transcriptId), $"{e.GetType().Name}: {e.Message}", SpoolRecordException.UnknownAdvice);
        }
    }

    /// <summary>Loads a transcript; one with a record that cannot be read is quarantined before the exception goes on.</summary>
    private Transcript? LoadOrQuarantine(string transcriptId)
    {
        try
        {
            return Read(() => LoadUnlocked(transcriptId));
        }
        catch (SpoolRecordException e)
        {
            Quarantine([(new BsonValue(transcriptId), e)]);
            throw;
        }
    }

    /// <summary>Records unreadable transcripts in the quarantine (once each) and logs each newly quarantined one.</summary>
    /// <remarks>Never throws: when the spool cannot record them (disk full), they are still left out of this read and are
    /// found again at the next.</remarks>
    private void Quarantine(IReadOnlyList<(BsonValue Id, SpoolRecordException Error)> records)
    {
        var added = new List<(string Id, SpoolRecordException Error)>();
        try
        {
            Write(() =>
            {
                added.Clear();
                var quarantine = QuarantineRecords;
                foreach (var (id, error) in records)
                {
                    var text = IdText(id);
                    if (quarantine.FindById(text) is not null || added.Any(a => a.Id == text)) continue;
                    quarantine.Insert(new BsonDocument
                    {
                        [F_Id] = text,
                        [Q_TranscriptId] = id,
                        [Q_Record] = error.RecordId,
                        [Q_Problem] = error.Problem,
                        [Q_Advice] = error.Advice,
                        [Q_Since] = Instant(DateTimeOffset.UtcNow),
                    });
                    added.Add((text, error));
                }
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogError("cannot record {Count} unreadable transcript(s) in the quarantine of spool {Path} ({Problem}); they are left out " +
                             "of delivery anyway and recorded at the next read", records.Count, _path, e.Message);
            return;
        }
        lock (_gate)
        {
            foreach (var (id, _) in added) _quarantinedIds?.Add(id);
        }
        foreach (var (id, error) in added)
            _logger.LogError("transcript {Id} is quarantined: record {Record} cannot be read: {Problem}. It stays in the spool as it is and is " +
                             "not delivered; everything else goes on. {Advice}", id, error.RecordId, error.Problem, error.Advice.Replace("ID", id, StringComparison.Ordinal));
    }

    /// <summary>The quarantined transcripts, oldest first, with what is known of each (for <c>imlogger spool status</c>).</summary>
    public IReadOnlyList<QuarantinedTranscript> Quarantined() => Read(() =>
        QuarantineRecords.FindAll().ToList()
            .Select(entry => Describe(entry, _transcripts.FindById(TranscriptIdOf(entry))))
            .OrderBy(q => q.SinceUtc).ThenBy(q => q.TranscriptId, StringComparer.Ordinal)
            .ToList());

    /// <summary>The quarantined transcript's _id as stored (any BSON type); the entry's own id if that is lost.</summary>
    private static BsonValue TranscriptIdOf(BsonDocument entry) =>
        entry.TryGetValue(Q_TranscriptId, out var id) && !id.IsNull && !id.IsMinValue && !id.IsMaxValue ? id : entry[F_Id];

    /// <summary>How many transcripts are quarantined (for <c>imlogger report</c>).</summary>
    public int QuarantinedCount() => Read(() => QuarantinedIds().Count);

    private QuarantinedTranscript Describe(BsonDocument entry, BsonDocument? transcript)
    {
        static string Str(BsonDocument d, string field) => d.TryGetValue(field, out var v) && v.IsString ? v.AsString : "";
        var id = IdText(entry[F_Id]);
        var since = entry.TryGetValue(Q_Since, out var s) && s.IsInt64 ? ToInstant(s) : DateTimeOffset.MinValue;
        if (transcript is null)
            return new QuarantinedTranscript
            {
                TranscriptId = id, RecordId = Str(entry, Q_Record), Problem = Str(entry, Q_Problem), Advice = Str(entry, Q_Advice), SinceUtc = since,
                Conversation = "(no longer in the spool)", State = "-", Endpoints = [],
            };
        string conversation;
        try
        {
            var key = transcript.ContainsKey(F_KeySealed) || (transcript.TryGetValue(F_Key, out var k) && k.IsString)
                ? KeyOf(transcript, _cipher, strict: false) : "(no conversation key)";
            var type = transcript.TryGetValue(F_Type, out var t) && t.IsString ? t.AsString : "(no type)";
            conversation = $"{type} {key}";
        }
        catch (Exception e) when (e is InvalidCastException or NullReferenceException or ArgumentException)
        {
            conversation = "(unreadable)";
        }
        var endpoints = transcript.TryGetValue(F_Deliveries, out var deliveries) && deliveries.IsArray
            ? deliveries.AsArray.Where(d => d.IsDocument).Select(d => Str(d.AsDocument, D_Endpoint)).Where(e => e.Length > 0).ToList()
            : [];
        return new QuarantinedTranscript
        {
            TranscriptId = id, RecordId = Str(entry, Q_Record), Problem = Str(entry, Q_Problem), Advice = Str(entry, Q_Advice), SinceUtc = since,
            Conversation = conversation, State = Str(transcript, F_State) is { Length: > 0 } state ? state : "(unreadable)", Endpoints = endpoints,
        };
    }

    /// <summary>Releases quarantined transcripts that this version can read now (after an upgrade, or with the right key
    /// file): they go back to delivery. One that was still open when it was set aside is closed (its conversation went on in
    /// a new transcript meanwhile). One still unreadable stays, with its current problem.</summary>
    /// <param name="transcriptId">Only this transcript; null for all.</param>
    /// <returns>One outcome per quarantined transcript tried (none when <paramref name="transcriptId"/> is not quarantined).</returns>
    public IReadOnlyList<QuarantineRelease> ReleaseQuarantined(string? transcriptId)
    {
        var outcomes = new List<QuarantineRelease>();
        Write(() =>
        {
            outcomes.Clear();
            var quarantine = QuarantineRecords;
            var entries = transcriptId is null ? quarantine.FindAll().ToList()
                : quarantine.FindById(transcriptId) is { } one ? [one] : [];
            foreach (var entry in entries)
            {
                var id = IdText(entry[F_Id]);
                var doc = _transcripts.FindById(TranscriptIdOf(entry));
                if (doc is null)
                {
                    quarantine.Delete(entry[F_Id]);
                    outcomes.Add(new QuarantineRelease(id, true, "no longer in the spool; removed from the quarantine"));
                    continue;
                }
                try
                {
                    if (!doc[F_Id].IsString) throw new SpoolRecordException(TranscriptRecordId(id), "its id is not text", SpoolRecordException.UnknownAdvice);
                    LoadUnlocked(doc[F_Id].AsString);
                }
                catch (SpoolRecordException e)
                {
                    entry[Q_Record] = e.RecordId;
                    entry[Q_Problem] = e.Problem;
                    entry[Q_Advice] = e.Advice;
                    quarantine.Update(entry);
                    outcomes.Add(new QuarantineRelease(id, false, $"still unreadable: record {e.RecordId}: {e.Problem}"));
                    continue;
                }
                quarantine.Delete(entry[F_Id]);
                outcomes.Add(new QuarantineRelease(id, true, CloseReleased(doc)));
            }
        });
        lock (_gate) _quarantinedIds = null;
        foreach (var released in outcomes.Where(o => o.Released))
            _logger.LogInformation("transcript {Id} released from the quarantine: {Outcome}", released.TranscriptId, released.Outcome);
        return outcomes;
    }

    /// <summary>A released transcript that was open is closed now: nothing appends to it any more (the service left it out
    /// when it resumed), and at the next start it would compete with the conversation's newer transcript.</summary>
    private string CloseReleased(BsonDocument doc)
    {
        if (doc[F_State].AsString != nameof(TranscriptState.Open)) return "readable again; delivered at the next pass";
        if (doc[F_EventCount].AsInt32 == 0)
        {
            _transcripts.Delete(doc[F_Id]);
            return "readable again; it was open without events, so it is deleted";
        }
        doc[F_State] = nameof(TranscriptState.Pending);
        doc[F_Closed] = doc[F_LastEvent];
        _transcripts.Update(doc);
        Enqueue(doc); // an open transcript had nothing in the delivery queue
        return "readable again; it was open, so it is closed at its last event and delivered at the next pass";
    }
}

/// <summary>One event record of a quarantined transcript, as far as it can be read (<see cref="LiteDbSpool.ReadableEvents"/>).</summary>
/// <param name="RecordId">The record, e.g. "event:{id}:0000000003".</param>
/// <param name="Event">The event, when it can be read.</param>
/// <param name="Problem">Why it cannot, otherwise.</param>
public sealed record EventRecord(string RecordId, ConversationEvent? Event, string? Problem);

public sealed partial class LiteDbSpool
{
    /// <summary>A transcript's event records one by one, each read or with its problem: what <c>imlogger spool show</c>
    /// prints of a quarantined transcript (the others are shown through <see cref="Load"/>).</summary>
    /// <param name="transcriptId">The transcript.</param>
    public IReadOnlyList<EventRecord> ReadableEvents(string transcriptId) => Read(() =>
        // In key order ("{id}:{sequence:D10}"): the sequence field itself may be what is damaged.
        StoredEventsOf(transcriptId)
            .OrderBy(d => IdText(d[F_Id]), StringComparer.Ordinal)
            .Select(d =>
            {
                var recordId = EventRecordId(IdText(d[F_Id]));
                try
                {
                    return new EventRecord(recordId, ToEvent(d, _cipher), null);
                }
                catch (SpoolRecordException e)
                {
                    return new EventRecord(recordId, null, e.Problem);
                }
                catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or NullReferenceException or ArgumentException)
                {
                    return new EventRecord(recordId, null, $"{e.GetType().Name}: {e.Message}");
                }
            })
            .ToList());
}
