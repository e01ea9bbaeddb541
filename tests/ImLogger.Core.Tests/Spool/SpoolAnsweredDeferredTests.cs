using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>
/// Answered requests' records ride in the request's stored batch and reach their collection once a second
/// (LiteDbSpool.AnsweredDeferred.cs). A kill -9 is the spool's files as they are on disk while it runs (copied while
/// open: every acknowledged write is in them, the once-a-second copy may not have happened): the next run still finds what
/// was answered, and a report already taken stays taken.
/// </summary>
[TestFixture]
public sealed partial class SpoolAnsweredDeferredTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static ConversationEvent Said(string text) =>
        Events.Chat("alice@example.test/laptop", "bob@example.test", text, Events.T0);

    private static LiteDbSpool Open(string path) => new(path, NullLogger<LiteDbSpool>.Instance);

    /// <summary>The running spool's files copied as a crash would leave them (data file and log; no close, no copy pass).</summary>
    private string Crashed(string path)
    {
        var crash = Path.Combine(_dir.Path, "crash-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(crash);
        foreach (var file in new[] { path, Path.Combine(Path.GetDirectoryName(path)!, "spool-log.db") })
        {
            using var from = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var to = File.Create(Path.Combine(crash, Path.GetFileName(file)));
            from.CopyTo(to);
        }
        return Path.Combine(crash, "spool.db");
    }

    [Test]
    public void RecordsThatRodeInABatch_AreFoundAfterAKill_AndATakenOneStaysTaken()
    {
        var path = _dir.File("spool.db");
        using var spool = Open(path);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        spool.Watch(); // the transcript is checkpointed; what follows is only in the log
        spool.RememberAnswered("req-1", [Said("one")]);
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("stored with req-1"))]));
        spool.RememberAnswered("req-2", [Said("two")]);
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("stored with req-2"))]));

        var afterKill = Crashed(path);
        using (var next = Open(afterKill))
        {
            Assert.That(next.TakeAnswered("req-1")?.Single().Text, Is.EqualTo("one"), "rode in its batch, copied at open");
            Assert.That(next.TakeAnswered("req-2")?.Single().Text, Is.EqualTo("two"));
        }

        // This run takes req-1 (a refusal report) and stores the refusal: the forget is durable with it, and a kill right
        // after must not bring req-1 back from the batch it rode in.
        Assert.That(spool.TakeAnswered("req-1")?.Single().Text, Is.EqualTo("one"), "found in memory before the copy");
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("refusal of req-1"))]));
        using (var next = Open(Crashed(path)))
        {
            Assert.That(next.TakeAnswered("req-1"), Is.Null, "a refusal reported twice marks once");
            Assert.That(next.TakeAnswered("req-2")?.Single().Text, Is.EqualTo("two"));
        }

        // After the once-a-second copy the records are in their collection; delivery deleting the batches loses nothing.
        spool.Watch();
        spool.Close(id, Events.T0.AddHours(1));
        spool.MarkDelivered(id, "mail");
        using (var next = Open(Crashed(path)))
            Assert.That(next.TakeAnswered("req-2")?.Single().Text, Is.EqualTo("two"));
    }

    [Test]
    public void DeliveryBeforeTheCopy_KeepsTheRecordsThatRodeInTheDeletedBatches()
    {
        var path = _dir.File("spool.db");
        using var spool = Open(path);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        spool.RememberAnswered("req-9", [Said("nine")]);
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("stored with req-9"))]));
        spool.Close(id, Events.T0.AddHours(1));
        spool.MarkDelivered(id, "mail"); // deletes the batch req-9 rode in, before any Watch
        using var next = Open(Crashed(path));
        Assert.That(next.TakeAnswered("req-9")?.Single().Text, Is.EqualTo("nine"));
    }

    [Test]
    public void ActivityCountersHeldInMemory_AreCountedAgainAfterAKill_AndOnceAfterTheCopy()
    {
        var path = _dir.File("spool.db");
        using var spool = Open(path);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        for (var n = 0; n < 3; n++) spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said($"m{n}"))]));
        Assert.That(spool.Activity(Events.T0).Single().Captured, Is.EqualTo(3), "held counters are reported at once");

        using (var next = Open(Crashed(path)))
            Assert.That(next.Activity(Events.T0).Single().Captured, Is.EqualTo(3), "counted again from the batches after a kill");

        spool.Watch(); // the once-a-second copy
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("m3"))]));
        Assert.That(spool.Activity(Events.T0).Single().Captured, Is.EqualTo(4));
        using (var next = Open(Crashed(path)))
            Assert.That(next.Activity(Events.T0).Single().Captured, Is.EqualTo(4), "stored three, counted one again: none twice");

        spool.Close(id, Events.T0.AddHours(1));
        spool.MarkDelivered(id, "mail"); // deletes the batches the held count came from
        using (var next = Open(Crashed(path)))
            Assert.That(next.Activity(Events.T0).Single().Captured, Is.EqualTo(4), "written before its batches were deleted");
    }

    [Test]
    public void ASecondsWorthCopiedInSlices_IsMarkedCopiedOnlyWhenAllAre_AndAllAreFoundAfterAKill()
    {
        var path = _dir.File("spool.db");
        using var spool = Open(path);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        for (var n = 0; n < 100; n++)
        {
            spool.RememberAnswered($"req-{n}", [Said($"answered {n}")]);
            spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said($"stored {n}"))]));
        }
        spool.Watch(); // 100 records: three slices of 32, then the advance copies the last 4 and marks the batches copied
        spool.RememberAnswered("req-after", [Said("after the copy")]);
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("stored after"))]));
        using var next = Open(Crashed(path));
        Assert.That(Enumerable.Range(0, 100).Select(n => next.TakeAnswered($"req-{n}")?.Single().Text),
            Is.EqualTo(Enumerable.Range(0, 100).Select(n => $"answered {n}")));
        Assert.That(next.TakeAnswered("req-after")?.Single().Text, Is.EqualTo("after the copy"), "rode in a batch after the mark");
    }

    /// <summary>The ingest loop's own sequence per batch (remember, append in one write, then <c>FlushAnswered</c>, which
    /// writes only what is queued: records that rode in a batch wait for the once-a-second copy), with refusal reports
    /// taken in between (a forget, written by the next flush), and no copy pass before the kill: every answered request
    /// not reported is found by the next run, none reported is found twice.</summary>
    [Test]
    public void TheLoopsSequence_WithReportsBetween_KillBeforeAnyCopy_EachRecordFoundOnceOrTakenForGood()
    {
        var path = _dir.File("spool.db");
        using var spool = Open(path);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        spool.Watch();
        var taken = new List<int>();
        for (var n = 0; n < 60; n++)
        {
            spool.RememberAnswered($"req-{n}", [Said($"answered {n}")]);
            spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said($"stored {n}"))]));
            spool.FlushAnswered();
            if (n % 7 == 3)
            {
                // The module reports an earlier request refused (its verdict came too late): taken, and forgotten by a write.
                var reported = n - 2;
                Assert.That(spool.TakeAnswered($"req-{reported}")?.Single().Text, Is.EqualTo($"answered {reported}"));
                taken.Add(reported);
                spool.FlushAnswered();
            }
        }
        using var next = Open(Crashed(path));
        Assert.Multiple(() =>
        {
            foreach (var n in Enumerable.Range(0, 60))
            {
                var found = next.TakeAnswered($"req-{n}")?.Single().Text;
                Assert.That(found, Is.EqualTo(taken.Contains(n) ? null : $"answered {n}"), $"req-{n} after the kill");
            }
        });
    }
}
