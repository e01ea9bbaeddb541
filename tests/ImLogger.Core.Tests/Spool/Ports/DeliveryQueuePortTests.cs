using ImLogger.Conversations;
using ImLogger.Spool;

namespace ImLogger.Tests.Spool.Ports;

/// <summary><see cref="IDeliveryQueue"/> alone, on a real LiteDB file: what is due per endpoint and in which order, retries
/// and their next attempt, dead letters and their requeue, deliveries confirmed, parts accepted and copies that may exist,
/// and the backlog's counts, across a restart. Transcripts reach the queue the only way they can: closed through
/// <see cref="ITranscriptStore"/>.</summary>
[TestFixture]
public sealed class DeliveryQueuePortTests : SpoolPortFixture
{
    private ITranscriptStore _transcripts = null!;
    private IDeliveryQueue _queue = null!;

    /// <summary>Both ports of the one spool file (one process holds it at a time).</summary>
    [SetUp]
    public void OpenPorts() => Ports(Open<ISpool>());

    private void Ports(ISpool spool) => (_transcripts, _queue) = (spool, spool);

    private void Restart() => Ports(Reopen<ISpool>());

    private string Closed(DateTimeOffset closedUtc, params string[] endpoints)
    {
        var header = _transcripts.OpenTranscript(ConversationType.OneToOne, Key, T0, endpoints);
        _transcripts.Append([new SpoolAppend(header.Id, Chat("hello", T0))]);
        _transcripts.Close(header.Id, closedUtc);
        return header.Id;
    }

    private List<string> Due(string endpoint, DateTimeOffset now, int max = 100) => _queue.DueForDelivery(endpoint, now, max).Select(h => h.Id).ToList();

    private EndpointBacklog? Backlog(string endpoint) => _queue.Backlog().SingleOrDefault(b => b.Endpoint == endpoint);

    [Test]
    public void AClosedTranscriptIsDueForEachOfItsEndpointsOldestClosedFirst()
    {
        var open = _transcripts.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        _transcripts.Append([new SpoolAppend(open.Id, Chat("still talking", T0))]);
        var later = Closed(T0.AddMinutes(20), "dir", "mail");
        var earlier = Closed(T0.AddMinutes(10), "dir");

        Assert.That(Due("dir", T0.AddHours(1)), Is.EqualTo(new[] { earlier, later }), "an open transcript is never due");
        Assert.That(Due("mail", T0.AddHours(1)), Is.EqualTo(new[] { later }));
        Assert.That(Due("dir", T0.AddHours(1), max: 1), Is.EqualTo(new[] { earlier }));
        Assert.That(Due("nobody", T0.AddHours(1)), Is.Empty);
        Assert.That(_queue.UndeliveredCount(), Is.EqualTo(2));
        Assert.That((Backlog("dir")!.Pending, Backlog("dir")!.Dead, Backlog("dir")!.OldestClosedUtc), Is.EqualTo((2, 0, (DateTimeOffset?)T0.AddMinutes(10))));
    }

    [Test]
    public void AFailedAttemptWaitsForItsNextAttemptAcrossARestart()
    {
        var id = Closed(T0.AddMinutes(10), "dir");
        var next = T0.AddHours(2);
        _queue.RecordFailure(id, "dir", "connection refused", next, dead: false);
        Restart();

        Assert.That(Due("dir", T0.AddHours(1)), Is.Empty, "not before its next attempt");
        Assert.That(Due("dir", next), Is.EqualTo(new[] { id }));
        Assert.That(_queue.ScheduledAfter("dir", T0.AddHours(1), 10).Select(h => h.Id), Is.EqualTo(new[] { id }), "scheduled after an hour");
        Assert.That(_queue.ScheduledAfter("dir", next, 10), Is.Empty);
        var delivery = _queue.DueForDelivery("dir", next, 1).Single().Deliveries.Single();
        Assert.That((delivery.Attempts, delivery.NextAttemptUtc, delivery.LastError, delivery.State),
            Is.EqualTo((1, (DateTimeOffset?)next, "connection refused", DeliveryState.Pending)));
        var backlog = Backlog("dir")!;
        Assert.That((backlog.OldestAttempts, backlog.OldestNextAttemptUtc, backlog.OldestLastError), Is.EqualTo((1, (DateTimeOffset?)next, "connection refused")));
    }

    [Test]
    public void ADeadLetterIsNeverDueUntilRequeuedAndThenStartsItsAttemptsAgain()
    {
        var dead = Closed(T0.AddMinutes(10), "dir", "mail");
        _queue.RecordFailure(dead, "dir", "550 mailbox unavailable", null, dead: true);

        Assert.That(Due("dir", T0.AddDays(30)), Is.Empty);
        Assert.That(Due("mail", T0.AddDays(30)), Is.EqualTo(new[] { dead }), "another endpoint's delivery is its own");
        Assert.That((Backlog("dir")!.Pending, Backlog("dir")!.Dead), Is.EqualTo((0, 1)));
        Assert.That(_queue.Undelivered().Single().Deliveries.Single(d => d.Endpoint == "dir").State, Is.EqualTo(DeliveryState.Dead));

        Assert.That(_queue.RequeueDead("mail"), Is.Zero, "mail has no dead letter");
        Restart();
        Assert.That(_queue.RequeueDead(null), Is.EqualTo(1));
        Assert.That(Due("dir", T0.AddMinutes(11)), Is.EqualTo(new[] { dead }), "due at once");
        Assert.That((Backlog("dir")!.Pending, Backlog("dir")!.Dead), Is.EqualTo((1, 0)));
        Assert.That(_queue.DueForDelivery("dir", T0.AddMinutes(11), 1).Single().Deliveries.Single(d => d.Endpoint == "dir").Attempts, Is.Zero);
    }

    [Test]
    public void ATranscriptLeavesTheSpoolOnceEveryEndpointConfirmedIt()
    {
        var id = Closed(T0.AddMinutes(10), "dir", "mail");
        _queue.MarkDelivered(id, "dir");
        _queue.MarkDelivered(id, "dir"); // confirmed twice: no change
        _queue.MarkDelivered(id, "nobody");

        Assert.That(Due("dir", T0.AddHours(1)), Is.Empty);
        Assert.That(Due("mail", T0.AddHours(1)), Is.EqualTo(new[] { id }));
        Assert.That(_queue.Undelivered().Single().Deliveries.Select(d => d.Endpoint), Is.EqualTo(new[] { "mail" }));
        Assert.That(Backlog("dir"), Is.Null, "nothing owed to dir any more");

        _queue.MarkDelivered(id, "mail");
        Restart();
        Assert.That(_transcripts.Load(id), Is.Null, "deleted with its events");
        Assert.That((_queue.Undelivered().Count, _queue.UndeliveredCount(), _queue.Backlog().Count), Is.EqualTo((0, 0, 0)));
    }

    [Test]
    public void PartsAcceptedAndACopyThatMayExistAreKeptThroughFailures()
    {
        var id = Closed(T0.AddMinutes(10), "mail");
        _queue.RecordPartsAccepted(id, "mail", 2, 40);
        _queue.RecordCopyMayExist(id, "mail", T0.AddMinutes(11));
        _queue.RecordCopyMayExist(id, "mail", T0.AddMinutes(12)); // the first unknown outcome is the one kept
        _queue.RecordFailure(id, "mail", "timeout", T0.AddMinutes(15), dead: false);
        Restart();

        var delivery = _queue.DueForDelivery("mail", T0.AddMinutes(15), 1).Single().Deliveries.Single();
        Assert.That((delivery.PartsAccepted, delivery.EventsAccepted, delivery.CopyMayExistSinceUtc),
            Is.EqualTo((2, 40, (DateTimeOffset?)T0.AddMinutes(11))));
        Assert.That(Backlog("mail")!.CopiesMayExist, Is.EqualTo(1));
        _queue.MarkDelivered(id, "mail");
        Assert.That(_queue.Backlog(), Is.Empty);
    }

    [Test]
    public void OutcomesForATranscriptNotOwedAreIgnored()
    {
        var id = Closed(T0.AddMinutes(10), "dir");
        _queue.RecordFailure(id, "mail", "not owed", T0.AddHours(1), dead: true);
        _queue.RecordFailure("no-such-transcript", "dir", "gone", T0.AddHours(1), dead: false);
        _queue.RecordPartsAccepted("no-such-transcript", "dir", 1, 1);
        _queue.RecordCopyMayExist(id, "mail", T0);
        _queue.MarkDelivered("no-such-transcript", "dir");
        Assert.That(Due("dir", T0.AddMinutes(11)), Is.EqualTo(new[] { id }));
        Assert.That(_queue.Backlog().Select(b => (b.Endpoint, b.Pending, b.Dead, b.CopiesMayExist)), Is.EqualTo(new[] { ("dir", 1, 0, 0) }));
    }

    [Test]
    public void UndeliveredListsPendingAndDeadButNotOpenTranscriptsOldestClosedFirst()
    {
        var open = _transcripts.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        _transcripts.Append([new SpoolAppend(open.Id, Chat("still talking", T0))]);
        var second = Closed(T0.AddMinutes(30), "dir");
        var first = Closed(T0.AddMinutes(5), "dir");
        _queue.RecordFailure(first, "dir", "refused", null, dead: true);
        Assert.That(_queue.Undelivered().Select(h => (h.Id, h.State)),
            Is.EqualTo(new[] { (first, TranscriptState.Pending), (second, TranscriptState.Pending) }));
    }
}
