using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Dispatch;

/// <summary>Issue 14: a delivery whose outcome is unknown (the endpoint may have accepted it) is never retried at once,
/// waits at least <see cref="DispatcherOptions.UnknownOutcomeRetryDelay"/>, is recorded as "a copy may exist", and the
/// next attempt tells the sink so (it marks the resend). Real spool, fake clock.</summary>
[TestFixture]
public sealed class DispatcherUnknownOutcomeTests
{
    private TempDir _dir = null!;
    private LiteDbSpool _spool = null!;
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _spool = new LiteDbSpool(_dir.File("spool.db"), NullLogger<LiteDbSpool>.Instance);
        _time = new FakeTimeProvider(Events.T0.AddHours(1));
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private string ClosedTranscript(string endpoint) => SpooledTranscripts.Closed(_spool, endpoint, "hello");

    private EndpointDelivery Delivery(string id) => _spool.Undelivered().Single(h => h.Id == id).Deliveries.Single();

    [Test]
    public async Task UnknownOutcome_NoQuickRetry_WaitsTheMinimum_RecordsTheCopy_AndTellsTheNextAttempt()
    {
        var id = ClosedTranscript("smtp");
        var seen = new List<DeliveryProgress>();
        var outcomes = new Queue<Func<string>>([
            () => throw new SinkException("no reply to the end of DATA", isTransient: true) { OutcomeUnknown = true },
            () => throw new SinkException("connection refused", isTransient: true),
            () => "250 ok",
        ]);
        var sink = new Mock<IResumableSink>();
        sink.SetupGet(s => s.Name).Returns("smtp");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<DeliveryProgress>(), It.IsAny<Action<DeliveryProgress>>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript _, DeliveryProgress p, Action<DeliveryProgress> _, CancellationToken _) =>
            {
                seen.Add(p);
                return Task.FromResult(outcomes.Dequeue()());
            });
        // Quick retries on, with a short delay and a short backoff: an unknown outcome must use neither.
        var options = new DispatcherOptions
        {
            QuickRetries = 2, QuickRetryDelay = TimeSpan.FromMilliseconds(10),
            InitialRetryDelay = TimeSpan.FromSeconds(1), MaxRetryDelay = TimeSpan.FromSeconds(2),
        };
        var dispatcher = new Dispatcher(_spool, _spool, [sink.Object], NullLogger<Dispatcher>.Instance, _time, options);
        var failedAt = _time.GetUtcNow();

        var pass = dispatcher.DeliverDueAsync(CancellationToken.None);
        // A quick retry would wait on the fake clock, which nobody advances: the pass would not complete.
        Assert.That(await Task.WhenAny(pass, Task.Delay(TimeSpan.FromSeconds(10))), Is.SameAs(pass), "no quick retry was waited for");
        Assert.That(seen, Has.Count.EqualTo(1));
        Assert.That(seen[0].CopyMayExist, Is.False);
        var delivery = Delivery(id);
        Assert.Multiple(() =>
        {
            Assert.That(delivery.Attempts, Is.EqualTo(1));
            Assert.That(delivery.CopyMayExistSinceUtc, Is.EqualTo(failedAt));
            Assert.That(delivery.NextAttemptUtc, Is.GreaterThanOrEqualTo(failedAt + options.UnknownOutcomeRetryDelay));
        });

        _time.Advance(options.UnknownOutcomeRetryDelay - TimeSpan.FromSeconds(1));
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero);
        Assert.That(seen, Has.Count.EqualTo(1), "not due before the minimum wait");

        // The next attempt is told a copy may exist; its failure (a known one) keeps the record and the usual backoff.
        _time.Advance(TimeSpan.FromSeconds(2));
        var second = dispatcher.DeliverDueAsync(CancellationToken.None);
        for (var i = 0; i < 200 && !second.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(5);
        }
        Assert.That(await second, Is.EqualTo(1), "the quick retry after an ordinary failure delivered it");
        Assert.That(seen, Has.Count.EqualTo(3));
        Assert.That(seen.Skip(1).Select(p => p.CopyMayExist), Has.All.True, "both later attempts mark the resend");
        Assert.That(_spool.Load(id), Is.Null, "delivered and deleted");
    }

    [Test]
    public void CopyMayExist_KeepsTheFirstTime()
    {
        var id = ClosedTranscript("smtp");
        _spool.RecordCopyMayExist(id, "smtp", Events.T0);
        _spool.RecordCopyMayExist(id, "smtp", Events.T0.AddHours(1));
        Assert.That(Delivery(id).CopyMayExistSinceUtc, Is.EqualTo(Events.T0));
    }
}
