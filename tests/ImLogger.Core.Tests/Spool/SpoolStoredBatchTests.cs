using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>
/// Events stored one document per transcript per append, keyed by a counter that only grows (LiteDbSpool.Batches.cs), on
/// a real LiteDB file: each transcript reads back its own events in order through its chain, whatever else was appended
/// in between; delivery deletes them all; the ids go on growing after a restart; damage and tampering are still caught.
/// </summary>
[TestFixture]
public sealed class SpoolStoredBatchTests
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private TempDir _dir = null!;
    private string _path = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _path = _dir.File("spool.db");
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private LiteDbSpool Open(string? key = null) => new(_path, NullLogger<LiteDbSpool>.Instance, key);

    private LiteDatabase Raw() => new(new ConnectionString { Filename = _path, Connection = ConnectionType.Direct });

    private static ConversationEvent Said(int who, int n) =>
        Events.Chat("alice@example.test/laptop", $"bob{who}@example.test", $"to {who}: {n}", T0.AddSeconds(n));

    /// <summary>Three transcripts, <paramref name="rounds"/> appends each holding one or two events of every transcript.</summary>
    private static List<string> Interleaved(LiteDbSpool spool, int rounds)
    {
        var ids = Enumerable.Range(0, 3)
            .Select(t => spool.OpenTranscript(ConversationType.OneToOne, $"alice@example.test bob{t}@example.test", T0, ["mail"]).Id).ToList();
        var n = 0;
        for (var round = 0; round < rounds; round++)
        {
            var batch = new List<SpoolAppend>();
            for (var t = 0; t < 3; t++)
            {
                batch.Add(new SpoolAppend(ids[t], Said(t, n++)));
                if (round % 2 == 0) batch.Add(new SpoolAppend(ids[(t + 1) % 3], Said((t + 1) % 3, n++)));
            }
            spool.Append(batch);
        }
        foreach (var id in ids) spool.Close(id, T0.AddHours(1));
        return ids;
    }

    private static List<string> Texts(LiteDbSpool spool, string id) => spool.Load(id)!.Events.Select(e => e.Text!).ToList();

    [Test]
    public void OneAppendLargerThanALiteDbDocument_IsStoredInSeveralChainedBatches_AndReadsBackWhole()
    {
        // 30 events of 1 MB each for one transcript in one append: one document would pass LiteDB's 16 MB limit.
        string id;
        using (var spool = Open())
        {
            id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, ["mail"]).Id;
            var big = new string('x', 1024 * 1024);
            spool.Append(Enumerable.Range(0, 30)
                .Select(n => new SpoolAppend(id, Events.Chat("alice@example.test/laptop", "bob@example.test", $"{n:D2} {big}", T0.AddSeconds(n))))
                .ToList());
            spool.Close(id, T0.AddHours(1));
        }
        using (var spool = Open())
        {
            var texts = Texts(spool, id);
            Assert.That(texts.Select(t => t[..2]), Is.EqualTo(Enumerable.Range(0, 30).Select(n => n.ToString("D2", System.Globalization.CultureInfo.InvariantCulture))));
            Assert.That(texts, Is.All.Length.EqualTo(3 + 1024 * 1024));
        }
        using (var db = Raw())
            Assert.That(db.GetCollection("event_batches").Count(), Is.GreaterThanOrEqualTo(8), "split under the document limit");
    }

    [Test]
    public void InterleavedAppends_EachTranscriptReadsItsOwnEventsInOrder_FromOneStoredBatchPerAppend()
    {
        List<string> ids;
        var expected = new Dictionary<string, List<string>>();
        using (var spool = Open())
        {
            ids = Interleaved(spool, rounds: 10);
            foreach (var id in ids) expected[id] = Texts(spool, id);
        }
        Assert.Multiple(() =>
        {
            for (var t = 0; t < 3; t++)
            {
                Assert.That(expected[ids[t]], Has.Count.EqualTo(15));
                Assert.That(expected[ids[t]], Is.All.StartsWith($"to {t}: "), "no event of another transcript");
                var numbers = expected[ids[t]].Select(s => int.Parse(s.Split(": ")[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
                Assert.That(numbers, Is.Ordered.Ascending, "in the order appended");
            }
        });
        using (var db = Raw())
        {
            var batches = db.GetCollection(LiteDbSpool.BatchesCollection).FindAll().ToList();
            Assert.That(batches, Has.Count.EqualTo(30), "one document per transcript per append, not one per event");
            Assert.That(db.GetCollection("events").Count(), Is.Zero, "nothing in the one-per-event collection of earlier versions");
            Assert.That(batches.Select(b => b["_id"].AsInt64), Is.Ordered.Ascending.And.Unique);
        }
        using (var spool = Open())
        {
            var more = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test carol@example.test", T0, ["mail"]).Id;
            spool.Append([new SpoolAppend(more, Said(9, 99))]);
            spool.MarkDelivered(ids[1], "mail");
            Assert.That(spool.Load(ids[1]), Is.Null);
            Assert.That(Texts(spool, ids[0]), Is.EqualTo(expected[ids[0]]));
            Assert.That(Texts(spool, ids[2]), Is.EqualTo(expected[ids[2]]));
        }
        using (var db = Raw())
        {
            var batches = db.GetCollection(LiteDbSpool.BatchesCollection).FindAll().ToList();
            Assert.That(batches.Count(b => b["tid"] == ids[1]), Is.Zero, "the delivered transcript's batches are deleted");
            Assert.That(batches, Has.Count.EqualTo(21));
            Assert.That(batches.Max(b => b["_id"].AsInt64), Is.GreaterThan(30), "ids go on growing after a restart (they are never reused)");
        }
    }

    [Test]
    public void ABrokenChain_StillReadsEveryEventOfTheTranscript_AndDeletesThemAll()
    {
        List<string> ids;
        List<string> before;
        using (var spool = Open())
        {
            ids = Interleaved(spool, rounds: 4);
            before = Texts(spool, ids[0]);
        }
        using (var db = Raw())
        {
            var header = db.GetCollection("transcripts").FindById(ids[0]);
            var last = db.GetCollection(LiteDbSpool.BatchesCollection).FindById(header[LiteDbSpool.F_LastBatch]);
            last["prev"] = 999_999; // points nowhere
            db.GetCollection(LiteDbSpool.BatchesCollection).Update(last);
        }
        using (var spool = Open())
        {
            Assert.That(Texts(spool, ids[0]), Is.EqualTo(before));
            spool.MarkDelivered(ids[0], "mail");
        }
        using var check = Raw();
        Assert.That(check.GetCollection(LiteDbSpool.BatchesCollection).Count(Query.EQ("tid", ids[0])), Is.Zero);
    }

    [Test]
    public void Encrypted_EachRecordInABatchIsSealed_AndOneMovedIntoAnotherTranscriptsBatchIsCaught()
    {
        const string key = "the-right-key-0123456789";
        List<string> ids;
        using (var spool = Open(key)) ids = Interleaved(spool, rounds: 2);
        Assert.That(File.ReadAllBytes(_path).AsSpan().IndexOf("to 1: "u8), Is.LessThan(0), "no event text on disk");
        using (var db = Raw())
        {
            var batches = db.GetCollection(LiteDbSpool.BatchesCollection);
            var victim = batches.FindOne(Query.EQ("tid", ids[0]));
            var donor = batches.FindOne(Query.EQ("tid", ids[1]));
            victim["events"].AsArray.Add(donor["events"].AsArray[0]); // an authentic record of another conversation
            batches.Update(victim);
        }
        using (var spool = Open(key))
        {
            var e = Assert.Throws<SpoolRecordException>(() => spool.Load(ids[0]))!;
            Assert.That(e.Message, Does.Contain("another transcript"));
            Assert.That(Texts(spool, ids[2]), Has.Count.EqualTo(3), "the others still load");
        }
    }

    [Test]
    public void AnUnencryptedSpoolWithStoredBatches_IsSealedWhenAKeyIsConfigured_AndStillLoads()
    {
        List<string> ids;
        List<string> before;
        using (var spool = Open())
        {
            ids = Interleaved(spool, rounds: 3);
            before = Texts(spool, ids[2]);
        }
        using (var spool = Open("the-right-key-0123456789"))
            Assert.That(Texts(spool, ids[2]), Is.EqualTo(before));
        Assert.That(File.ReadAllBytes(_path).AsSpan().IndexOf("to 2: "u8), Is.LessThan(0), "sealed on disk after the conversion");
    }
}
