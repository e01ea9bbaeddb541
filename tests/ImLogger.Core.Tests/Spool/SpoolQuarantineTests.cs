using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Spool;

/// <summary>Issue 14: one record the running version cannot read (written by a newer version, or damaged) is quarantined:
/// kept as it is, listed, left out of delivery and recovery, while every other transcript flows. Records are written raw
/// into a real LiteDB file, as a newer version or damage would leave them.</summary>
public sealed class SpoolQuarantineTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private string SpoolPath => _dir.File("spool.db");

    private LiteDbSpool Open(ILogger<LiteDbSpool>? log = null, string? key = null) =>
        new(SpoolPath, log ?? NullLogger<LiteDbSpool>.Instance, key);

    /// <summary>A transcript with <paramref name="messages"/> events, closed (pending for "dir") unless <paramref name="open"/>.</summary>
    private static string Store(LiteDbSpool spool, string text, int minute, bool open = false, int messages = 2, string endpoint = "dir")
    {
        var at = Events.T0.AddMinutes(minute);
        var header = spool.OpenTranscript(ConversationType.OneToOne, $"alice@example.test bob{minute}@example.test", at, [endpoint]);
        spool.Append(Enumerable.Range(0, messages)
            .Select(i => new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", $"bob{minute}@example.test", $"{text} {i}", at.AddSeconds(i)))).ToList());
        if (!open) spool.Close(header.Id, at.AddSeconds(30));
        return header.Id;
    }

    /// <summary>Edits the file as another program would (the spool must be closed).</summary>
    private void Raw(Action<ILiteCollection<BsonDocument>, StoredEventRecords> edit)
    {
        using var db = new LiteDatabase(new ConnectionString { Filename = SpoolPath, Connection = ConnectionType.Direct });
        edit(db.GetCollection("transcripts"), new StoredEventRecords(db));
    }

    private void EditHeader(string id, Action<BsonDocument> edit) => Raw((transcripts, _) =>
    {
        var doc = transcripts.FindById(id);
        edit(doc);
        transcripts.Update(doc);
    });

    private void EditEvent(string id, int sequence, Action<BsonDocument> edit) => Raw((_, events) =>
    {
        var doc = events.FindById($"{id}:{sequence:D10}");
        edit(doc);
        events.Update(doc);
    });

    private static (Dispatcher Dispatcher, List<Transcript> Delivered) Dispatcher(LiteDbSpool spool, ListLogger<Dispatcher>? log = null)
    {
        var delivered = new List<Transcript>();
        var sink = new Mock<ITranscriptSink>();
        sink.SetupGet(s => s.Name).Returns("dir");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => { delivered.Add(t); return Task.FromResult("ok"); });
        return (new Dispatcher(spool, spool, [sink.Object], log ?? new ListLogger<Dispatcher>(), new FakeTimeProvider(Events.T0.AddHours(1)),
            new DispatcherOptions { QuickRetries = 0, BatchSize = 2 }), delivered);
    }

    [Test]
    public async Task TranscriptsFromANewerVersion_AreQuarantined_AndTheHealthyOnesBehindThemAreDelivered()
    {
        string unknownType, unknownKind;
        var healthy = new List<string>();
        using (var spool = Open())
        {
            // The unreadable ones are the oldest: first in line for every delivery pass (the issue: every pass failed on them).
            unknownType = Store(spool, "from the future", 0);
            unknownKind = Store(spool, "a poll", 1);
            for (var i = 0; i < 3; i++) healthy.Add(Store(spool, "healthy", 10 + i));
        }
        EditHeader(unknownType, d => d["type"] = "Broadcast");
        EditEvent(unknownKind, 1, d => d["kind"] = "Poll");

        var log = new ListLogger<LiteDbSpool>();
        using var reopened = Open(log);
        var (dispatcher, delivered) = Dispatcher(reopened);

        var total = 0;
        for (var pass = 0; pass < 4; pass++) total += await dispatcher.DeliverDueAsync(CancellationToken.None);

        Assert.That(total, Is.EqualTo(3));
        Assert.That(delivered.Select(t => t.Id), Is.EquivalentTo(healthy));
        var quarantined = reopened.Quarantined();
        Assert.That(quarantined.Select(q => q.TranscriptId), Is.EquivalentTo(new[] { unknownType, unknownKind }));
        var type = quarantined.Single(q => q.TranscriptId == unknownType);
        Assert.That(type.RecordId, Is.EqualTo("transcript:" + unknownType));
        Assert.That(type.Problem, Is.EqualTo("its field 'type' is 'Broadcast': this version knows no such conversation type"));
        Assert.That(type.Advice, Does.Contain("newer ImLogger version").And.Contain("release-quarantined"));
        Assert.That(type.Conversation, Is.EqualTo("Broadcast alice@example.test bob0@example.test"));
        Assert.That(type.State, Is.EqualTo("Pending"));
        Assert.That(type.Endpoints, Is.EqualTo(new[] { "dir" }));
        var kind = quarantined.Single(q => q.TranscriptId == unknownKind);
        Assert.That(kind.RecordId, Is.EqualTo($"event:{unknownKind}:0000000001"));
        Assert.That(kind.Problem, Does.Contain("'Poll': this version knows no such event kind"));
        Assert.That(reopened.QuarantinedCount(), Is.EqualTo(2));
        Assert.That(reopened.Undelivered(), Is.Empty, "delivered ones are gone; quarantined ones are listed apart");
        Assert.That(log.At(LogLevel.Error).Count(l => l.Contains("is quarantined", StringComparison.Ordinal)), Is.EqualTo(2), "one error each, not one per pass");

        // The records themselves are kept as they were.
        Raw((transcripts, events) =>
        {
            Assert.That(transcripts.FindById(unknownType)["type"].AsString, Is.EqualTo("Broadcast"));
            Assert.That(events.CountOf(unknownKind), Is.EqualTo(2));
        });
    }

    [Test]
    public void AnOpenTranscriptOfAnUnknownType_IsLeftOutOfRecovery_AndTheOthersResume()
    {
        string bad, good;
        using (var spool = Open())
        {
            bad = Store(spool, "open, from the future", 0, open: true);
            good = Store(spool, "open and fine", 1, open: true);
        }
        EditHeader(bad, d => d["type"] = "Broadcast");

        using var reopened = Open();
        var tracker = new ConversationTracker(reopened, _ => "dir", TimeSpan.FromMinutes(10), new FakeTimeProvider(Events.T0.AddMinutes(2)),
            NullLogger<ConversationTracker>.Instance);

        Assert.That(tracker.Resume(), Is.EqualTo(1));
        Assert.That(reopened.OpenTranscripts().Select(t => t.Id), Is.EqualTo(new[] { good }));
        Assert.That(reopened.Quarantined().Single().State, Is.EqualTo("Open"));
    }

    [Test]
    public async Task Releasing_WaitsUntilTheRecordIsReadable_ThenDeliversIt()
    {
        string pending, open;
        using (var spool = Open())
        {
            pending = Store(spool, "a poll", 0);
            open = Store(spool, "open, from the future", 1, open: true);
        }
        EditEvent(pending, 0, d => d["kind"] = "Poll");
        EditHeader(open, d => d["type"] = "Broadcast");

        using (var spool = Open())
        {
            var (dispatcher, _) = Dispatcher(spool);
            Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero);
            Assert.That(spool.OpenTranscripts(), Is.Empty);
            Assert.That(spool.QuarantinedCount(), Is.EqualTo(2));

            var early = spool.ReleaseQuarantined(null);
            Assert.That(early.Select(r => r.Released), Is.All.False, "nothing changed: both stay");
            Assert.That(early.Single(r => r.TranscriptId == pending).Outcome, Does.Contain("still unreadable").And.Contain("Poll"));
            Assert.That(spool.ReleaseQuarantined("no-such-transcript"), Is.Empty);
        }

        // What an upgrade to a version that knows them amounts to for this one: the records read.
        EditEvent(pending, 0, d => d["kind"] = "Message");
        EditHeader(open, d => d["type"] = "OneToOne");

        using (var spool = Open())
        {
            var released = spool.ReleaseQuarantined(null);
            Assert.That(released.Select(r => r.Released), Is.All.True);
            Assert.That(released.Single(r => r.TranscriptId == open).Outcome, Does.Contain("closed at its last event"));
            Assert.That(spool.Quarantined(), Is.Empty);
            var (dispatcher, delivered) = Dispatcher(spool);
            Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(2));
            Assert.That(delivered.Select(t => t.Id), Is.EquivalentTo(new[] { pending, open }));
            Assert.That(delivered.Single(t => t.Id == open).ClosedUtc, Is.EqualTo(Events.T0.AddMinutes(1).AddSeconds(1)), "closed at its last event");
            Assert.That(delivered.Single(t => t.Id == pending).Events.Select(e => e.Text), Is.EqualTo(new[] { "a poll 0", "a poll 1" }));
        }
    }

    /// <summary>Hostile and damaged records: each is quarantined with its problem named, and a healthy transcript next to
    /// it is delivered. None may throw out of a listing or a delivery pass.</summary>
    [TestCase("header without its deliveries list", "no field 'deliveries'")]
    [TestCase("deliveries that are text", "its field 'deliveries' is text, not a list")]
    [TestCase("a delivery in an unknown state", "'Paused': this version knows no such delivery state")]
    [TestCase("no conversation key", "no field 'key'")]
    [TestCase("opened as text", "its field 'opened' is text, not a time")]
    [TestCase("opened before year 1", "its field 'opened' is -5, not a time")]
    [TestCase("type given as a number in text", "'7': this version knows no such conversation type")]
    [TestCase("type given as a combination", "'OneToOne, GroupChat': this version knows no such conversation type")]
    [TestCase("type with a newline", "'Group?Chat': this version knows no such conversation type")]
    [TestCase("event text that is a number", "its field 'text' is a 32-bit number, not text")]
    [TestCase("event status codes that are text", "its field 'status' item 0 is text, not a status code")]
    [TestCase("event without a sender", "no field 'from'")]
    [TestCase("event without a kind", "no field 'kind'")]
    [TestCase("event reduced to its ids", "no field 'id'")]
    [TestCase("event sequence as text", "FormatException")]
    public async Task AHostileRecord_IsQuarantinedWithItsProblem_AndTheHealthyOneIsDelivered(string damage, string problem)
    {
        string bad, good;
        using (var spool = Open())
        {
            bad = Store(spool, "damaged", 0);
            good = Store(spool, "healthy", 1);
        }
        switch (damage)
        {
            case "header without its deliveries list": EditHeader(bad, d => d.Remove("deliveries")); break;
            case "deliveries that are text": EditHeader(bad, d => d["deliveries"] = "dir"); break;
            case "a delivery in an unknown state": EditHeader(bad, d => d["deliveries"].AsArray[0].AsDocument["state"] = "Paused"); break;
            case "no conversation key": EditHeader(bad, d => d.Remove("key")); break;
            case "opened as text": EditHeader(bad, d => d["opened"] = "yesterday"); break;
            case "opened before year 1": EditHeader(bad, d => d["opened"] = -5L); break;
            case "type given as a number in text": EditHeader(bad, d => d["type"] = "7"); break;
            case "type given as a combination": EditHeader(bad, d => d["type"] = "OneToOne, GroupChat"); break;
            case "type with a newline": EditHeader(bad, d => d["type"] = "Group\nChat"); break;
            case "event text that is a number": EditEvent(bad, 0, d => d["text"] = 42); break;
            case "event status codes that are text": EditEvent(bad, 1, d => d["status"] = new BsonArray(new BsonValue("110"))); break;
            case "event without a sender": EditEvent(bad, 0, d => d.Remove("from")); break;
            case "event without a kind": EditEvent(bad, 0, d => d.Remove("kind")); break;
            case "event reduced to its ids": Raw((_, events) => events.Update(new BsonDocument { ["_id"] = $"{bad}:0000000000", ["tid"] = bad, ["seq"] = 0 })); break;
            case "event sequence as text": EditEvent(bad, 1, d => d["seq"] = "one"); break;
            default: Assert.Fail(damage); break;
        }

        using var reopened = Open();
        Assert.DoesNotThrow(() => reopened.OpenTranscripts());
        var (dispatcher, delivered) = Dispatcher(reopened);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1), damage);
        Assert.That(delivered.Single().Id, Is.EqualTo(good));
        var quarantined = reopened.Quarantined().Single();
        Assert.That(quarantined.TranscriptId, Is.EqualTo(bad));
        Assert.That(quarantined.Problem, Does.Contain(problem));
        Assert.That(reopened.Undelivered(), Is.Empty);
    }

    [Test]
    public void AnUnknownTranscriptState_OrAnIdThatIsNotText_IsQuarantinedByTheListing()
    {
        string archived, numbered;
        using (var spool = Open())
        {
            archived = Store(spool, "archived by a newer version", 0);
            numbered = Store(spool, "renumbered", 1);
            Store(spool, "healthy", 2);
        }
        EditHeader(archived, d => d["state"] = "Archived");
        Raw((transcripts, _) =>
        {
            var doc = transcripts.FindById(numbered);
            transcripts.Delete(numbered);
            doc["_id"] = 4711;
            transcripts.Insert(doc);
        });

        using var reopened = Open();
        Assert.That(reopened.Undelivered(), Has.Count.EqualTo(1));
        var quarantined = reopened.Quarantined();
        Assert.That(quarantined.Select(q => q.TranscriptId), Is.EquivalentTo(new[] { archived, "4711" }));
        Assert.That(quarantined.Single(q => q.TranscriptId == archived).Problem, Does.Contain("'Archived': this version knows no such transcript state"));
        Assert.That(quarantined.Single(q => q.TranscriptId == "4711").Problem, Does.Contain("its field '_id' is a 32-bit number, not text"));
        Assert.That(reopened.ReleaseQuarantined("4711").Single().Released, Is.False);
    }

    [Test]
    public void ADamagedQuarantineEntry_StillListsAndReleases()
    {
        string bad;
        using (var spool = Open())
        {
            bad = Store(spool, "from the future", 0);
            Assert.That(spool.Undelivered(), Has.Count.EqualTo(1));
        }
        EditHeader(bad, d => d["type"] = "Broadcast");
        using (var spool = Open()) Assert.That(spool.Undelivered(), Is.Empty);
        using (var db = new LiteDatabase(new ConnectionString { Filename = SpoolPath, Connection = ConnectionType.Direct }))
        {
            var quarantine = db.GetCollection("quarantine");
            var entry = quarantine.FindById(bad);
            entry.Remove("tid");
            entry["problem"] = 12;
            entry.Remove("since");
            quarantine.Update(entry);
        }
        EditHeader(bad, d => d["type"] = "OneToOne");

        using var reopened = Open();
        var listed = reopened.Quarantined().Single();
        Assert.That(listed.TranscriptId, Is.EqualTo(bad));
        Assert.That(listed.State, Is.EqualTo("Pending"));
        Assert.That(reopened.ReleaseQuarantined(bad).Single().Released, Is.True);
        Assert.That(reopened.Undelivered().Single().Id, Is.EqualTo(bad));
    }

    [Test]
    public void SpoolRetry_SkipsAnUnreadableTranscript_AndRequeuesTheDeadOnes()
    {
        string dead, broken;
        using (var spool = Open())
        {
            dead = Store(spool, "dead", 0);
            broken = Store(spool, "broken", 1);
            spool.RecordFailure(dead, "dir", "550 no", null, dead: true);
            spool.RecordFailure(broken, "dir", "550 no", null, dead: true);
        }
        EditHeader(broken, d => d["deliveries"].AsArray[0].AsDocument.Remove("endpoint"));

        using var reopened = Open();
        Assert.That(reopened.RequeueDead(null), Is.EqualTo(1), "the issue: `spool retry` died on the unreadable one");
        Assert.That(reopened.Undelivered().Single().Deliveries.Single().State, Is.EqualTo(DeliveryState.Pending));
    }

    [Test]
    public async Task ATranscriptOwedToAnEndpointNotInTheConfig_StaysInTheSpool_AndHoldsNothingElse()
    {
        string orphan, good;
        using (var spool = Open())
        {
            orphan = Store(spool, "for an endpoint removed from the config", 0, endpoint: "removed");
            good = Store(spool, "healthy", 1);
        }

        using var reopened = Open();
        var log = new ListLogger<Dispatcher>();
        var (dispatcher, delivered) = Dispatcher(reopened, log);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(delivered.Single().Id, Is.EqualTo(good));
        Assert.That(reopened.Undelivered().Single().Id, Is.EqualTo(orphan), "kept, not quarantined: it is readable");
        Assert.That(reopened.Quarantined(), Is.Empty);
        Assert.That(log.At(LogLevel.Error), Has.Some.Contains("'removed', which is not configured"));
    }

    [Test]
    public async Task AnEncryptedSpool_ASealedEventOfAnUnknownKind_IsQuarantinedWithTheUpgradeAdvice()
    {
        const string key = "key-from-file-0123456789";
        string bad, good;
        using (var spool = Open(key: key))
        {
            bad = Store(spool, "sealed poll", 0);
            good = Store(spool, "sealed and fine", 1);
        }
        // A newer version writes its new kind inside the sealed record: only the key opens it.
        using (var cipher = new SpoolCipher(key))
        {
            var inner = SpoolDocuments.ToDocument(bad, 0, Events.Chat("alice@example.test/laptop", "bob0@example.test", "sealed poll 0", Events.T0));
            var original = default(BsonDocument);
            Raw((_, events) => original = events.FindById($"{bad}:0000000000"));
            inner["id"] = original!["id"];
            inner["kind"] = "Poll";
            Raw((_, events) => events.Update(SpoolDocuments.SealEvent(inner, cipher)));
        }

        using (var reopened = Open(key: key))
        {
            var (dispatcher, delivered) = Dispatcher(reopened);
            Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
            Assert.That(delivered.Single().Id, Is.EqualTo(good));
            var quarantined = reopened.Quarantined().Single();
            Assert.That(quarantined.Problem, Does.Contain("'Poll': this version knows no such event kind"));
            Assert.That(quarantined.Advice, Is.EqualTo(SpoolRecordException.UnknownAdvice));
            Assert.That(quarantined.Conversation, Does.Contain("alice@example.test bob0@example.test"), "the sealed key is opened for the listing");
        }
        Assert.That(File.ReadAllText(SpoolPath, System.Text.Encoding.Latin1), Does.Not.Contain("bob0@example.test"),
            "the quarantine keeps no conversation key in clear");
    }
}
