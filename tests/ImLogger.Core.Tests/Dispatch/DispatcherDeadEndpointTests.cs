using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Dispatch;

/// <summary>
/// Issue 15's backlog target: with one endpoint dead and a large backlog, the dispatcher's passes against it must not read
/// the backlog's headers under the spool's gate (inline verdicts wait behind that gate). A failing pass makes one attempt,
/// so after a transient failure the next pass asks the spool for one transcript, not a batch, and not a batch plus every
/// retry this process has waiting. Real spool in a temp file; the spool is watched through a counting decorator.
/// </summary>
[TestFixture]
public sealed class DispatcherDeadEndpointTests
{
    private const int Backlog = 60;
    private TempDir _dir = null!;
    private LiteDbSpool _spool = null!;
    private CountingQueue _queue = null!;
    private FakeTimeProvider _time = null!;
    private readonly DispatcherOptions _options = new() { QuickRetries = 0 };

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _spool = new LiteDbSpool(_dir.File("spool.db"), NullLogger<LiteDbSpool>.Instance);
        _spool.InOneWrite(() =>
        {
            for (var i = 0; i < Backlog; i++) SpooledTranscripts.Closed(_spool, "smtp", $"message {i}");
        });
        _queue = new CountingQueue(_spool);
        _time = new FakeTimeProvider(Events.T0.AddHours(1));
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private Dispatcher Create(ITranscriptSink sink) => new(_queue, _spool, [sink], NullLogger<Dispatcher>.Instance, _time, _options);

    private static Mock<ITranscriptSink> Sink(Func<bool> up)
    {
        var sink = new Mock<ITranscriptSink>();
        sink.SetupGet(s => s.Name).Returns("smtp");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => up()
                ? Task.FromResult("250 ok")
                : Task.FromException<string>(new SinkException("cannot connect to 127.0.0.1:25: connection refused", isTransient: true)));
        return sink;
    }

    [Test]
    public async Task AfterATransientFailure_EachPassAsksTheSpoolForOneTranscript_NotABatchPlusItsWaitingRetries()
    {
        var sink = Sink(() => false);
        var dispatcher = Create(sink.Object);

        await dispatcher.DeliverDueAsync(CancellationToken.None); // the first pass does not know yet: a batch
        for (var pass = 1; pass <= 10; pass++)
        {
            _queue.Asked.Clear();
            _queue.HeadersRead = 0;
            await dispatcher.DeliverDueAsync(CancellationToken.None);
            Assert.Multiple(() =>
            {
                Assert.That(_queue.Asked, Is.EqualTo(new[] { 1 }), $"pass {pass}: what the pass asked the spool for (before: 50 + the retries it had waiting)");
                Assert.That(_queue.HeadersRead, Is.EqualTo(1), $"pass {pass}: headers read");
            });
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        // Each pass still tried the endpoint once: a dead endpoint is probed at the same pace as before.
        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Exactly(11));
        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(Backlog));
    }

    [Test]
    public async Task WhenTheEndpointAnswersTheProbe_TheSamePassDeliversTheRestOfItsQueue()
    {
        var up = false;
        var dispatcher = Create(Sink(() => up).Object);
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        Assert.That(_spool.UndeliveredCount(), Is.EqualTo(Backlog));

        up = true;
        _time.Advance(_options.MaxRetryDelay);
        var delivered = await dispatcher.DeliverDueAsync(CancellationToken.None);

        // The probe, then a whole batch: not one transcript per pass while the endpoint is back.
        Assert.That(delivered, Is.EqualTo(1 + _options.BatchSize));
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        Assert.That(_spool.UndeliveredCount(), Is.Zero);
    }

    [Test]
    public async Task APermanentRefusal_IsAnAnswer_TheNextPassTakesABatchAgain()
    {
        var calls = 0;
        var sink = new Mock<ITranscriptSink>();
        sink.SetupGet(s => s.Name).Returns("smtp");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => ++calls switch
            {
                1 => Task.FromException<string>(new SinkException("connection refused", isTransient: true)),
                2 => Task.FromException<string>(new SinkException("550 mailbox unavailable", isTransient: false)),
                _ => Task.FromResult("250 ok"),
            });
        var dispatcher = Create(sink.Object);

        await dispatcher.DeliverDueAsync(CancellationToken.None); // down
        _queue.Asked.Clear();
        var delivered = await dispatcher.DeliverDueAsync(CancellationToken.None); // probe refused for good: the endpoint answers

        Assert.That(_queue.Asked, Is.EqualTo(new[] { 1, _options.BatchSize }));
        Assert.That(delivered, Is.EqualTo(_options.BatchSize), "the batch the same pass took after the refusal");
    }

    /// <summary>The spool as the dispatcher sees it, with what it asks <see cref="IDeliveryQueue.DueForDelivery"/> for.</summary>
    private sealed class CountingQueue(LiteDbSpool spool) : IDeliveryQueue
    {
        public List<int> Asked { get; } = [];
        public int HeadersRead { get; set; }

        public IReadOnlyList<TranscriptHeader> DueForDelivery(string endpoint, DateTimeOffset nowUtc, int max)
        {
            Asked.Add(max);
            var due = spool.DueForDelivery(endpoint, nowUtc, max);
            HeadersRead += due.Count;
            return due;
        }

        public IReadOnlyList<TranscriptHeader> ScheduledAfter(string endpoint, DateTimeOffset afterUtc, int max) => spool.ScheduledAfter(endpoint, afterUtc, max);
        public IReadOnlyList<TranscriptHeader> Undelivered() => spool.Undelivered();
        public IReadOnlyList<EndpointBacklog> Backlog() => spool.Backlog();
        public int UndeliveredCount() => spool.UndeliveredCount();
        public void MarkDelivered(string transcriptId, string endpoint) => spool.MarkDelivered(transcriptId, endpoint);
        public void RecordPartsAccepted(string transcriptId, string endpoint, int partsAccepted, int eventsAccepted) => spool.RecordPartsAccepted(transcriptId, endpoint, partsAccepted, eventsAccepted);
        public void RecordCopyMayExist(string transcriptId, string endpoint, DateTimeOffset atUtc) => spool.RecordCopyMayExist(transcriptId, endpoint, atUtc);
        public void RecordFailure(string transcriptId, string endpoint, string error, DateTimeOffset? nextAttemptUtc, bool dead) => spool.RecordFailure(transcriptId, endpoint, error, nextAttemptUtc, dead);
        public int RequeueDead(string? endpoint) => spool.RequeueDead(endpoint);
    }
}
