using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

public sealed partial class SpoolAnsweredDeferredTests
{
    /// <summary>
    /// The once-a-second copy of the answered records in slices (LiteDbSpool.AnsweredDeferred.cs) racing a refusal report.
    /// Since FlushAnswered no longer writes the records that rode in stored batches, a second's worth wait for the copy, so
    /// at 33 requests a second and more it goes in slices of 32. A report taken by the ingest loop (a forget, written by its
    /// next write) could be written by a slice first: the slice deleted the record from the collection, where it was not yet,
    /// and dropped the forget, while the record itself waited in a later slice; that slice, or the advance, or the next open
    /// (the batches were not marked copied) put it back, and the same refusal reported again (its request unanswered: a
    /// restart, a timeout) was found again, the stanzas it names marked NOT DELIVERED twice.
    /// </summary>
    [Test]
    public void AReportTakenWhileTheCopyGoesInSlices_StaysTaken_InThisRunAndTheNext()
    {
        var path = _dir.File("spool.db");
        using var spool = Open(path);
        var id = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["mail"]).Id;
        spool.Watch();
        // The ingest loop's sequence: 70 requests in the second, each record riding in its batch (two slices and more).
        for (var n = 0; n < 70; n++)
        {
            spool.RememberAnswered($"req-{n}", [Said($"answered {n}")]);
            spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said($"stored {n}"))]));
            spool.FlushAnswered();
        }
        // A request reports req-65 refused (its verdict came too late); the once-a-second watch runs before the loop's write.
        Assert.That(spool.TakeAnswered("req-65")?.Single().Text, Is.EqualTo("answered 65"));
        spool.Watch();
        spool.InOneWrite(() => spool.Append([new SpoolAppend(id, Said("the refusal of req-65"))]));
        spool.FlushAnswered();

        Assert.Multiple(() =>
        {
            Assert.That(spool.TakeAnswered("req-65"), Is.Null, "the same refusal reported again marks once");
            Assert.That(spool.TakeAnswered("req-64")?.Single().Text, Is.EqualTo("answered 64"), "the others are still found");
        });
        spool.FlushAnswered();
        using var next = Open(Crashed(path));
        Assert.Multiple(() =>
        {
            Assert.That(next.TakeAnswered("req-65"), Is.Null, "after a kill too");
            Assert.That(next.TakeAnswered("req-64"), Is.Null, "taken for good in the run before");
            Assert.That(next.TakeAnswered("req-1")?.Single().Text, Is.EqualTo("answered 1"));
            Assert.That(next.TakeAnswered("req-69")?.Single().Text, Is.EqualTo("answered 69"));
        });
    }
}
