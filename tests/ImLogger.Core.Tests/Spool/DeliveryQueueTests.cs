using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>
/// The spool's delivery queue on a real LiteDB file: what is due and in which order, dead letters, requeue, deliveries
/// removed, per-endpoint counts, the query plan (an index range, not a scan of the backlog), and spools written before
/// the queue existed (or changed meanwhile by such a version) brought up to date at open.
/// </summary>
[TestFixture]
public sealed class DeliveryQueueTests
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

    private string Closed(DateTimeOffset closedUtc, params string[] endpoints)
    {
        var header = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, endpoints);
        _spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", T0))]);
        _spool.Close(header.Id, closedUtc);
        return header.Id;
    }

    private IEnumerable<string> Due(string endpoint, DateTimeOffset now, int max = 100) =>
        _spool.DueForDelivery(endpoint, now, max).Select(h => h.Id);

    /// <summary>What any version with the spool identity but without the delivery queue does at open: rewrites the identity
    /// with the next generation (and nothing else), dropping this version's note that the queue agreed.</summary>
    private static void OpenedByAnOlderVersion(LiteDatabase db)
    {
        var metas = db.GetCollection("spool_meta");
        var identity = metas.FindById("identity");
        metas.Upsert(new BsonDocument { ["_id"] = "identity", ["id"] = identity["id"], ["generation"] = identity["generation"].AsInt64 + 1 });
    }

    private EndpointBacklog? Backlog(string endpoint) => _spool.Backlog().SingleOrDefault(b => b.Endpoint == endpoint);

    [Test]
    public void NeverTriedComeFirstOldestClosedFirst_ThenRetriesByNextAttempt_EachOnlyOnceDue()
    {
        var a = Closed(T0.AddMinutes(3), "mail");
        var b = Closed(T0.AddMinutes(1), "mail");
        var c = Closed(T0.AddMinutes(2), "mail");
        var d = Closed(T0.AddMinutes(4), "mail");
        _spool.RecordFailure(a, "mail", "down", T0.AddMinutes(20), dead: false);
        _spool.RecordFailure(b, "mail", "down", T0.AddMinutes(10), dead: false);
        var now = T0.AddMinutes(5);

        Assert.That(Due("mail", now), Is.EqualTo(new[] { c, d }), "retries wait for their next attempt");
        Assert.That(Due("mail", T0.AddMinutes(10)), Is.EqualTo(new[] { c, d, b }), "due exactly at the next attempt");
        Assert.That(Due("mail", T0.AddMinutes(30)), Is.EqualTo(new[] { c, d, b, a }));
        Assert.That(Due("mail", T0.AddMinutes(30), max: 3), Is.EqualTo(new[] { c, d, b }), "limited");
        Assert.That(Due("mail", T0.AddYears(-1)), Is.EqualTo(new[] { c, d }), "never tried: due whatever the clock says");
        Assert.That(_spool.DueForDelivery("mail", now, 1).Single().Deliveries.Single().Endpoint, Is.EqualTo("mail"));
    }

    [Test]
    public void EndpointsKeepTheirOwnQueues_EvenWhenNamesDifferOnlyInCaseOrArePrefixes()
    {
        var names = new[] { "mail", "Mail", "m", "mail2", "ma il", "mäil" };
        var ids = names.ToDictionary(n => n, n => Closed(T0, n));
        var shared = Closed(T0.AddMinutes(1), names);
        foreach (var name in names)
        {
            Assert.That(Due(name, T0.AddHours(1)), Is.EqualTo(new[] { ids[name], shared }), name);
            Assert.That(Backlog(name), Is.EqualTo(new EndpointBacklog(name, 2, 0) { OldestClosedUtc = T0 }), name);
        }
    }

    [Test]
    public void DeadLetters_AreNeverDue_AreCounted_AndRequeueMakesThemDueAtOnce()
    {
        var dead = Closed(T0.AddMinutes(1), "mail", "dir");
        var other = Closed(T0.AddMinutes(2), "mail");
        _spool.RecordFailure(dead, "mail", "550 rejected", null, dead: true);
        _spool.RecordFailure(dead, "dir", "disk full", null, dead: true);
        _spool.RecordFailure(other, "mail", "timeout", T0.AddHours(1), dead: false);

        Assert.That(Due("mail", T0.AddYears(1)), Is.EqualTo(new[] { other }), "a dead letter is never due");
        Assert.That(Backlog("mail"), Is.EqualTo(new EndpointBacklog("mail", 1, 1)
        {
            OldestClosedUtc = T0.AddMinutes(1), OldestAttempts = 1, OldestLastError = "550 rejected",
        }));

        Assert.That(_spool.RequeueDead("mail"), Is.EqualTo(1));
        Assert.That(Due("mail", T0.AddMinutes(3)), Is.EqualTo(new[] { dead }), "requeued: due at once, ahead of retries");
        Assert.That(Backlog("mail")!.Pending, Is.EqualTo(2));
        Assert.That(Backlog("mail")!.Dead, Is.Zero);
        Assert.That(Backlog("dir")!.Dead, Is.EqualTo(1), "another endpoint's dead letter stays dead");
        var header = _spool.Header(dead)!.Deliveries.Single(x => x.Endpoint == "mail");
        Assert.That((header.State, header.Attempts), Is.EqualTo((DeliveryState.Pending, 0)), "the header agrees");

        Assert.That(_spool.RequeueDead(null), Is.EqualTo(1));
        Assert.That(Due("dir", T0), Is.EqualTo(new[] { dead }));
    }

    [Test]
    public void Delivered_LeavesTheQueue_AndAnEndpointOwedNothingIsNotListed()
    {
        var first = Closed(T0.AddMinutes(1), "mail", "dir");
        var second = Closed(T0.AddMinutes(2), "mail");
        _spool.MarkDelivered(first, "mail");
        Assert.That(Due("mail", T0.AddHours(1)), Is.EqualTo(new[] { second }));
        Assert.That(Due("dir", T0.AddHours(1)), Is.EqualTo(new[] { first }));
        _spool.MarkDelivered(first, "mail"); // repeated: counts unchanged
        Assert.That(Backlog("mail")!.Pending, Is.EqualTo(1));

        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(2), "first is still owed to dir");
        _spool.MarkDelivered(first, "dir");
        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(1));
        _spool.MarkDelivered(second, "mail");
        Assert.That(_spool.Backlog(), Is.Empty);
        Assert.That(_spool.UndeliveredCount(), Is.Zero);
        Assert.That(Due("mail", T0.AddHours(1)), Is.Empty);
    }

    [Test]
    public void ARetryFromAnOpenTranscriptOrAnUnknownOne_ChangesNothingInTheQueue()
    {
        var open = _spool.OpenTranscript(ConversationType.OneToOne, "a@x b@y", T0, ["mail"]);
        _spool.RecordFailure(open.Id, "mail", "?", T0, dead: true);
        _spool.RecordFailure("unknown", "mail", "?", T0, dead: true);
        _spool.MarkDelivered("unknown", "mail");
        Assert.That(_spool.Backlog(), Is.Empty);
    }

    [Test]
    public void DueForDelivery_IsOneRangeOfTheQueueIndex_NotAScanOfTheBacklog()
    {
        for (var i = 0; i < 50; i++)
        {
            var id = Closed(T0.AddSeconds(i), "dead-endpoint");
            _spool.RecordFailure(id, "dead-endpoint", "connection refused", T0.AddDays(1), dead: false);
        }
        var due = Closed(T0.AddMinutes(5), "dead-endpoint");
        Assert.That(Due("dead-endpoint", T0.AddHours(1)), Is.EqualTo(new[] { due }));
        _spool.Dispose();

        using (var db = new LiteDatabase(new ConnectionString { Filename = _path, Connection = ConnectionType.Direct }))
        {
            var plan = db.GetCollection("queue").Query().Where(LiteDbSpool.DueQuery("dead-endpoint", T0.AddHours(1))).Limit(10).GetPlan();
            var index = plan["index"].AsDocument;
            Assert.That(index["name"].AsString, Is.EqualTo("q"), plan.ToString());
            Assert.That(index["mode"].AsString, Does.StartWith("INDEX RANGE SCAN(q BETWEEN"), plan.ToString());
            Assert.That(plan["limit"].AsInt32, Is.EqualTo(10), "the scan stops after the limit");
            var filters = plan.TryGetValue("filters", out var f) ? f.AsArray.Count : 0;
            Assert.That(filters, Is.Zero, $"nothing filtered after reading: {plan}");
            Assert.That(db.GetCollection("queue").Find(LiteDbSpool.DueQuery("dead-endpoint", T0.AddHours(1))).Count(), Is.EqualTo(1),
                "the range holds only what is due");
        }
        _spool = Open();
    }

    [Test]
    public void ASpoolWithoutAQueue_GetsOneAtOpen()
    {
        var failed = Closed(T0.AddMinutes(1), "mail");
        var dead = Closed(T0.AddMinutes(2), "mail", "dir");
        var fresh = Closed(T0.AddMinutes(3), "mail");
        var open = _spool.OpenTranscript(ConversationType.OneToOne, "a@x b@y", T0, ["mail"]);
        _spool.RecordFailure(failed, "mail", "timeout", T0.AddMinutes(30), dead: false);
        _spool.RecordFailure(dead, "mail", "550", null, dead: true);
        _spool.Dispose();
        // What a version without the delivery queue left: the transcripts and their deliveries only.
        using (var db = new LiteDatabase(new ConnectionString { Filename = _path, Connection = ConnectionType.Direct }))
        {
            OpenedByAnOlderVersion(db);
            Assert.That(db.DropCollection("queue"), Is.True);
            Assert.That(db.DropCollection("queueCounts"), Is.True);
            Assert.That(db.DropCollection("queueTotals"), Is.True);
        }

        _spool = Open();
        Assert.That(Due("mail", T0.AddMinutes(10)), Is.EqualTo(new[] { fresh }));
        Assert.That(Due("mail", T0.AddHours(1)), Is.EqualTo(new[] { fresh, failed }));
        Assert.That(Due("dir", T0), Is.EqualTo(new[] { dead }));
        Assert.That(_spool.Backlog(), Is.EqualTo(new[]
        {
            new EndpointBacklog("dir", 1, 0) { OldestClosedUtc = T0.AddMinutes(2) },
            new EndpointBacklog("mail", 2, 1) { OldestClosedUtc = T0.AddMinutes(1), OldestNextAttemptUtc = T0.AddMinutes(30), OldestAttempts = 1, OldestLastError = "timeout" },
        }));
        Assert.That(_spool.OpenTranscripts().Single().Id, Is.EqualTo(open.Id), "open transcripts are not queued");
        Assert.That((_spool.UndeliveredCount(), _spool.OpenCount()), Is.EqualTo((3, 1)));

        _spool.MarkDelivered(fresh, "mail");
        _spool.RecordFailure(failed, "mail", "timeout", null, dead: true);
        Assert.That(Backlog("mail")!.Pending, Is.Zero, "the rebuilt counters go on from there");
        Assert.That(Backlog("mail")!.Dead, Is.EqualTo(2));
    }

    [Test]
    public void ChangesAnOlderVersionMadeBehindTheQueue_AreCorrectedAtOpen()
    {
        var delivered = Closed(T0.AddMinutes(1), "mail");
        var failed = Closed(T0.AddMinutes(2), "mail");
        var open = _spool.OpenTranscript(ConversationType.OneToOne, "a@x b@y", T0, ["mail"]);
        _spool.Append([new SpoolAppend(open.Id, Events.Chat("a@x/r", "b@y", "hi", T0))]);
        _spool.Dispose();
        // An older version (headers only) delivers one transcript, records a failure on another and closes a third.
        using (var db = new LiteDatabase(new ConnectionString { Filename = _path, Connection = ConnectionType.Direct }))
        {
            OpenedByAnOlderVersion(db);
            var transcripts = db.GetCollection("transcripts");
            Assert.That(transcripts.Delete(delivered), Is.True);
            var doc = transcripts.FindById(failed);
            var delivery = doc["deliveries"].AsArray[0].AsDocument;
            delivery["attempts"] = 1;
            delivery["next"] = T0.AddHours(2).UtcTicks;
            delivery["error"] = "timeout";
            transcripts.Update(doc);
            doc = transcripts.FindById(open.Id);
            doc["state"] = "Pending";
            doc["closed"] = T0.AddMinutes(3).UtcTicks;
            transcripts.Update(doc);
        }

        _spool = Open();
        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(2));
        Assert.That(Due("mail", T0.AddHours(1)), Is.EqualTo(new[] { open.Id }));
        Assert.That(Due("mail", T0.AddHours(3)), Is.EqualTo(new[] { open.Id, failed }));
        Assert.That(Backlog("mail"), Is.EqualTo(new EndpointBacklog("mail", 2, 0)
        {
            OldestClosedUtc = T0.AddMinutes(2), OldestNextAttemptUtc = T0.AddHours(2), OldestAttempts = 1, OldestLastError = "timeout",
        }));
    }

    [Test]
    public void Undelivered_ReadInSlices_ListsEveryPendingTranscriptOnce()
    {
        // More than one slice (256 headers), with open transcripts in between that are skipped.
        var ids = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            ids.Add(Closed(T0.AddSeconds(i), "mail"));
            if (i % 100 == 0) _spool.OpenTranscript(ConversationType.OneToOne, "a@x b@y", T0, ["mail"]);
        }
        Assert.That(_spool.Undelivered().Select(h => h.Id), Is.EqualTo(ids), "every one, oldest closed first");
        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(300));
        Assert.That(Backlog("mail")!.Pending, Is.EqualTo(300));
    }
}
