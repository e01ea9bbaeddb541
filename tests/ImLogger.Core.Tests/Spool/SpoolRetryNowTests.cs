using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Spool;

/// <summary><c>imlogger spool retry</c> with the service stopped (<see cref="LiteDbSpool.MarkWaitingDueNow"/>): the waiting
/// deliveries are made due in the spool file itself, so the next start tries them first even without its own sweep, and
/// what the backoff and the horizon need (attempts, last error) is kept.</summary>
[TestFixture]
public sealed class SpoolRetryNowTests
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
        _spool = new LiteDbSpool(_path, NullLogger<LiteDbSpool>.Instance);
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private string Closed(DateTimeOffset closedUtc, params string[] endpoints)
    {
        var header = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", T0, endpoints);
        _spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", T0))]);
        _spool.Close(header.Id, closedUtc);
        return header.Id;
    }

    private EndpointDelivery Delivery(string id, string endpoint) => _spool.Header(id)!.Deliveries.Single(d => d.Endpoint == endpoint);

    [Test]
    public void WaitingDeliveriesBecomeDueFirstAndKeepTheirAttemptsAndError()
    {
        var now = T0.AddHours(1);
        var older = Closed(T0.AddMinutes(1), "dir", "mail");
        var newer = Closed(T0.AddMinutes(2), "dir");
        var neverTried = Closed(T0.AddMinutes(3), "dir");
        foreach (var id in new[] { older, newer })
        {
            _spool.RecordFailure(id, "dir", "connection refused", now.AddMinutes(8), dead: false);
            _spool.RecordFailure(id, "dir", "connection refused", now.AddMinutes(10), dead: false);
        }
        _spool.RecordFailure(older, "mail", "mail server down", now.AddMinutes(10), dead: false);
        Assert.That(_spool.DueForDelivery("dir", now, 10).Select(h => h.Id), Is.EqualTo(new[] { neverTried }), "the others wait for their slots");

        Assert.That(_spool.MarkWaitingDueNow("dir"), Is.EqualTo(2), "the two with a slot; the never-tried one is due already");

        Assert.That(_spool.DueForDelivery("dir", now, 10).Select(h => h.Id), Is.EqualTo(new[] { older, newer, neverTried }),
            "due at once, in the order they closed, before anything closed later");
        Assert.Multiple(() =>
        {
            var d = Delivery(older, "dir");
            Assert.That(d.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(d.NextAttemptUtc, Is.Null);
            Assert.That(d.Attempts, Is.EqualTo(2), "the backoff goes on from where it was if the endpoint fails again");
            Assert.That(d.LastError, Is.EqualTo("connection refused"), "spool status still says what went wrong");
            Assert.That(Delivery(older, "mail").NextAttemptUtc, Is.EqualTo(now.AddMinutes(10)), "another endpoint keeps its slot");
            Assert.That(_spool.DueForDelivery("mail", now, 10), Is.Empty);
            Assert.That(_spool.Backlog().Single(b => b.Endpoint == "dir").Pending, Is.EqualTo(3), "counts unchanged: nothing delivered");
        });
        Assert.That(_spool.MarkWaitingDueNow("dir"), Is.Zero, "twice is the same as once");
    }

    [Test]
    public void DeadLettersAreNotTouchedAndAllEndpointsAreMarkedWithoutAName()
    {
        var now = T0.AddHours(1);
        var waiting = Closed(T0.AddMinutes(1), "dir", "mail");
        var dead = Closed(T0.AddMinutes(2), "dir");
        _spool.RecordFailure(waiting, "dir", "down", now.AddMinutes(5), dead: false);
        _spool.RecordFailure(waiting, "mail", "down", now.AddMinutes(5), dead: false);
        _spool.RecordFailure(dead, "dir", "mailbox unknown", null, dead: true);

        Assert.That(_spool.MarkWaitingDueNow(null), Is.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(_spool.DueForDelivery("dir", now, 10).Select(h => h.Id), Is.EqualTo(new[] { waiting }));
            Assert.That(_spool.DueForDelivery("mail", now, 10).Select(h => h.Id), Is.EqualTo(new[] { waiting }));
            Assert.That(Delivery(dead, "dir").State, Is.EqualTo(DeliveryState.Dead), "dead letters are RequeueDead's");
        });
    }

    [Test]
    public async Task TheNextStartTriesThemAtOnceEvenWithoutItsOwnSweep()
    {
        var now = T0.AddHours(1);
        var ids = Enumerable.Range(1, 3).Select(i => Closed(T0.AddMinutes(i), "dir")).ToList();
        foreach (var id in ids) _spool.RecordFailure(id, "dir", "down", now.AddMinutes(10), dead: false);
        _spool.MarkWaitingDueNow("dir");
        _spool.Dispose();

        _spool = new LiteDbSpool(_path, NullLogger<LiteDbSpool>.Instance); // the service starts
        var sink = new Mock<ITranscriptSink>();
        sink.SetupGet(s => s.Name).Returns("dir");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => Task.FromResult($"ok:{t.Id}"));
        var dispatcher = new Dispatcher(_spool, _spool, [sink.Object], NullLogger<Dispatcher>.Instance, new FakeTimeProvider(now),
            new DispatcherOptions { QuickRetries = 0, RetryWaitingAtStart = false });

        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(3), "no clock moved, no start sweep: the spool says due");
        Assert.That(_spool.Undelivered(), Is.Empty);
    }
}
