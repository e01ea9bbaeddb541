using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>
/// The spool's cost does not follow its backlog (issue 15), on a real LiteDB file: what is due and what a clock that ran
/// fast pushed away are index ranges read a page at a time; a restart trusts the queue its last writer kept instead of
/// reading every header; events carry one index; and spools written by earlier code (no stamp, three event indexes) are
/// still read right.
/// </summary>
[TestFixture]
public sealed class SpoolFlatCostTests
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private TempDir _dir = null!;
    private string _path = null!;
    private LiteDbSpool _spool = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _path = _dir.File("spool.db");
        _spool = Open();
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private LiteDbSpool Open() => new(_path, NullLogger<LiteDbSpool>.Instance);

    private LiteDatabase Raw() => new(new ConnectionString { Filename = _path, Connection = ConnectionType.Direct });

    private string Closed(DateTimeOffset closedUtc, string endpoint = "mail", string body = "hello")
    {
        var header = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, [endpoint]);
        _spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", body, T0))]);
        _spool.Close(header.Id, closedUtc);
        return header.Id;
    }

    private List<string> Due(DateTimeOffset now, int max, string endpoint = "mail") =>
        _spool.DueForDelivery(endpoint, now, max).Select(h => h.Id).ToList();

    [Test]
    public void DueIsReadAPageAtATime_EachPageTheNextOldest()
    {
        var ids = Enumerable.Range(0, 7).Select(i => Closed(T0.AddMinutes(10 - i))).Reverse().ToList(); // oldest closed first
        var seen = new List<string>();
        for (var page = Due(T0.AddHours(1), 3); page.Count > 0; page = Due(T0.AddHours(1), 3))
        {
            Assert.That(page, Has.Count.LessThanOrEqualTo(3));
            seen.AddRange(page);
            foreach (var id in page) _spool.MarkDelivered(id, "mail");
        }
        Assert.That(seen, Is.EqualTo(ids), "every transcript once, oldest closed first, in pages of at most 3");
    }

    [Test]
    public void OpenTranscriptsAreNeverDue_ClosedOnesAreAtOnce()
    {
        var open = _spool.OpenTranscript(ConversationType.OneToOne, "a@x b@y", T0, ["mail"]);
        _spool.Append([new SpoolAppend(open.Id, Events.Chat("a@x/r", "b@y", "hi", T0))]);
        var closed = Closed(T0.AddMinutes(1));
        Assert.That(Due(T0.AddYears(1), 10), Is.EqualTo(new[] { closed }));
        _spool.Close(open.Id, T0.AddMinutes(2));
        Assert.That(Due(T0.AddMinutes(2), 10), Is.EqualTo(new[] { closed, open.Id }), "due the moment it closes, whatever the clock says");
    }

    [Test]
    public void ANextAttemptInTheFutureIsNotDueUntilItsTime_AndIsFoundByScheduledAfter()
    {
        var soon = Closed(T0.AddMinutes(1));
        var later = Closed(T0.AddMinutes(2));
        var far = Closed(T0.AddMinutes(3));
        var dead = Closed(T0.AddMinutes(4));
        _spool.RecordFailure(soon, "mail", "421", T0.AddMinutes(30), dead: false);
        _spool.RecordFailure(later, "mail", "421", T0.AddHours(2), dead: false);
        _spool.RecordFailure(far, "mail", "421", T0.AddYears(1), dead: false);
        _spool.RecordFailure(dead, "mail", "550", null, dead: true);

        Assert.That(Due(T0.AddMinutes(29), 10), Is.Empty);
        Assert.That(Due(T0.AddMinutes(30), 10), Is.EqualTo(new[] { soon }), "due at its next attempt exactly");
        Assert.That(_spool.ScheduledAfter("mail", T0.AddHours(1), 10).Select(h => h.Id), Is.EqualTo(new[] { later, far }), "by next attempt");
        Assert.That(_spool.ScheduledAfter("mail", T0.AddHours(1), 1).Select(h => h.Id), Is.EqualTo(new[] { later }), "at most max");
        Assert.That(_spool.ScheduledAfter("mail", T0.AddHours(2), 10).Select(h => h.Id), Is.EqualTo(new[] { far }), "strictly after");
        Assert.That(_spool.ScheduledAfter("mail", T0, 10).Select(h => h.Id), Does.Not.Contain(dead), "dead letters are not scheduled");
        Assert.That(_spool.ScheduledAfter("other", T0, 10), Is.Empty);
    }

    [Test]
    public void ScheduledAfter_IsOneRangeOfTheQueueIndex()
    {
        for (var i = 0; i < 20; i++) _spool.RecordFailure(Closed(T0.AddSeconds(i)), "mail", "421", T0.AddMinutes(5), dead: false);
        _spool.Dispose();
        using (var db = Raw())
        {
            var plan = db.GetCollection("queue").Query().Where(LiteDbSpool.ScheduledAfterQuery("mail", T0.AddHours(1))).Limit(5).GetPlan();
            Assert.That(plan["index"]["mode"].AsString, Does.StartWith("INDEX RANGE SCAN(q BETWEEN"), plan.ToString());
            Assert.That(plan.TryGetValue("filters", out var f) ? f.AsArray.Count : 0, Is.Zero, $"nothing filtered after reading: {plan}");
            Assert.That(db.GetCollection("queue").Find(LiteDbSpool.ScheduledAfterQuery("mail", T0.AddHours(1))).Count(), Is.Zero,
                "the range holds none of the 20 ordinary retries");
        }
        _spool = Open();
    }

    [Test]
    public void ADeliveryWhoseCopyMayExistStaysDueAndIsCounted()
    {
        var id = Closed(T0.AddMinutes(1));
        var other = Closed(T0.AddMinutes(2));
        _spool.RecordCopyMayExist(id, "mail", T0.AddMinutes(3));
        _spool.RecordFailure(id, "mail", "timed out after DATA: a copy may exist", T0.AddMinutes(10), dead: false);
        Assert.That(Due(T0.AddMinutes(5), 10), Is.EqualTo(new[] { other }));
        Assert.That(Due(T0.AddMinutes(10), 10), Is.EqualTo(new[] { other, id }));
        Assert.That(_spool.Backlog().Single().CopiesMayExist, Is.EqualTo(1));
        _spool.Dispose();
        _spool = Open();
        Assert.That(_spool.Backlog().Single().CopiesMayExist, Is.EqualTo(1), "kept across a restart");
        Assert.That(Due(T0.AddMinutes(10), 10), Is.EqualTo(new[] { other, id }));
    }

    [Test]
    public void ARestartTrustsTheQueueItsLastWriterKept_ItReadsNoHeader()
    {
        var id = Closed(T0.AddMinutes(1));
        _spool.Dispose();
        // Behind the spool's back, change the header alone (as no program that keeps the identity stamp does). Were the
        // headers read at open, the queue would follow them: it does not, so the open read none.
        using (var db = Raw())
        {
            var transcripts = db.GetCollection("transcripts");
            var doc = transcripts.FindById(id);
            doc["deliveries"].AsArray[0].AsDocument["next"] = T0.AddYears(1).UtcTicks;
            doc["deliveries"].AsArray[0].AsDocument["attempts"] = 7;
            transcripts.Update(doc);
        }
        _spool = Open();
        Assert.That(Due(T0.AddMinutes(2), 10), Is.EqualTo(new[] { id }), "the queue as this version left it");
        Assert.That(_spool.Backlog().Single().OldestAttempts, Is.Zero);
    }

    [Test]
    public void ASpoolLastOpenedByCodeWithoutTheStamp_IsCheckedAgainstItsHeadersOnce()
    {
        var failed = Closed(T0.AddMinutes(1));
        var delivered = Closed(T0.AddMinutes(2));
        _spool.Dispose();
        // What the main code before this change (or any version with the identity but without the stamp) does when it opens
        // the spool and works: rewrites the identity with the next generation and changes headers only.
        using (var db = Raw())
        {
            var metas = db.GetCollection("spool_meta");
            var identity = metas.FindById("identity");
            Assert.That(identity.ContainsKey(LiteDbSpool.QueueKeptField), Is.True, "this version stamps its spool");
            metas.Upsert(new BsonDocument { ["_id"] = "identity", ["id"] = identity["id"], ["generation"] = identity["generation"].AsInt64 + 1 });
            var transcripts = db.GetCollection("transcripts");
            var doc = transcripts.FindById(failed);
            doc["deliveries"].AsArray[0].AsDocument["attempts"] = 1;
            doc["deliveries"].AsArray[0].AsDocument["next"] = T0.AddHours(2).UtcTicks;
            doc["deliveries"].AsArray[0].AsDocument["error"] = "timeout";
            transcripts.Update(doc);
            transcripts.Delete(delivered);
        }
        var generation = SpoolMarker.Read(_path)!.Generation;
        _spool = Open();
        Assert.That(Due(T0.AddHours(1), 10), Is.Empty, "the older code's failure is in the queue");
        Assert.That(Due(T0.AddHours(2), 10), Is.EqualTo(new[] { failed }), "and its delivery is gone from it");
        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(1));
        _spool.Dispose();
        using (var db = Raw())
        {
            var identity = db.GetCollection("spool_meta").FindById("identity");
            Assert.That(identity[LiteDbSpool.QueueKeptField], Is.EqualTo(identity["generation"]), "stamped again after the check");
            Assert.That(identity["generation"].AsInt64, Is.GreaterThan(generation));
        }
        _spool = Open();
        Assert.That(Due(T0.AddHours(2), 10), Is.EqualTo(new[] { failed }));
    }

    [Test]
    public void EventsCarryOneIndex_AndASpoolWithOneDocumentPerEventAndTheOldThreeIndexesIsStillReadDeliveredAndDeduplicated()
    {
        var id = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["mail"]).Id;
        var first = Events.Chat("alice@example.test/laptop", "bob@example.test", "one", T0);
        _spool.Append([new SpoolAppend(id, first)]);
        var other = Closed(T0.AddMinutes(1), body: "other");
        _spool.Dispose();
        using (var db = Raw())
        {
            // The spool as the main code before stored batches left it: one document per event, transcript and event id indexed too.
            EarlierSpoolFormat.OneDocumentPerEvent(db);
            var events = db.GetCollection("events");
            Assert.That(events.Count(), Is.EqualTo(2));
            events.EnsureIndex("tid");
            events.EnsureIndex("id", unique: false);
        }
        _spool = Open();
        // After a failed append the spool looks the events up itself (by the transcript's range, not the old index).
        Assert.Throws<InvalidOperationException>(() => _spool.Append([new SpoolAppend("no-such-transcript", first)]));
        _spool.Append([new SpoolAppend(id, first), new SpoolAppend(id, Events.Chat("alice@example.test/laptop", "bob@example.test", "two", T0.AddSeconds(1)))]);
        _spool.Close(id, T0.AddMinutes(2));
        Assert.That(_spool.Load(id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "one", "two" }),
            "the repeat after the failure was skipped; the old event and the new stored batch read as one transcript");
        Assert.That(_spool.Load(other)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "other" }));
        _spool.MarkDelivered(id, "mail");
        _spool.Dispose();
        using (var db = Raw())
        {
            Assert.That(db.GetCollection("$indexes").Find("collection = 'events'").Select(i => i["name"].AsString), Is.EqualTo(new[] { "_id" }),
                "the old indexes are dropped at open");
            Assert.That(db.GetCollection("events").FindAll().Select(e => e["tid"].AsString), Is.EqualTo(new[] { other }),
                "the delivered transcript's events are deleted by their range, the other's kept");
            Assert.That(db.GetCollection("event_batches").Count(), Is.Zero, "and its stored batch with them");
        }
        _spool = Open();
    }

    [Test]
    public void AStorageErrorLeavesTheSpoolAsItsOwnException_AndNothingOfTheWriteIsKept()
    {
        var id = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["mail"]).Id;
        var huge = Events.Chat("alice@example.test/laptop", "bob@example.test", new string('x', 17 * 1024 * 1024), T0); // over LiteDB's 16 MB
        var e = Assert.Throws<SpoolUnavailableException>(() => _spool.Append([new SpoolAppend(id, huge)]));
        Assert.That(e!.InnerException, Is.InstanceOf<LiteException>());
        Assert.That(e.Message, Does.Contain(_path).And.Contain("retried"));
        Assert.That(e, Is.InstanceOf<IOException>(), "callers that treat I/O failures as a refusing disk keep doing so");
        _spool.Append([new SpoolAppend(id, Events.Chat("alice@example.test/laptop", "bob@example.test", "after", T0))]);
        _spool.Close(id, T0.AddMinutes(1));
        Assert.That(_spool.Load(id)!.Events.Select(ev => ev.Text), Is.EqualTo(new[] { "after" }));
    }

    [Test]
    public void FarFutureRetriesAfterARestart_AreTakenAPageAtATime_UntilNoneIsLeft()
    {
        var clock = new SteppedClock(T0.AddHours(1));
        var ids = Enumerable.Range(0, 5).Select(i => Closed(T0.AddMinutes(i))).ToList();
        foreach (var id in ids) _spool.RecordFailure(id, "mail", "421", T0.AddDays(30), dead: false); // by a clock a month fast
        var schedule = new RetrySchedule(clock, TimeSpan.FromMinutes(10));
        var taken = new List<string>();
        for (var pass = 0; pass < 5 && taken.Count < ids.Count; pass++)
        {
            var due = schedule.Due(_spool, "mail", 2);
            Assert.That(due, Has.Count.LessThanOrEqualTo(2));
            foreach (var h in due)
            {
                taken.Add(h.Id);
                // what the dispatcher does with a failed attempt: a retry within reach
                _spool.RecordFailure(h.Id, "mail", "421", schedule.Schedule(h.Id, "mail", TimeSpan.FromMinutes(5)), dead: false);
            }
        }
        Assert.That(taken, Is.EquivalentTo(ids), "every far-future retry tried once, two per pass");
        Assert.That(schedule.Due(_spool, "mail", 2), Is.Empty, "the rest wait their new delay");
    }
}
