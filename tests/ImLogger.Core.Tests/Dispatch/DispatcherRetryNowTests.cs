using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Dispatch;

/// <summary><c>imlogger spool retry</c> while the service runs: the operator fixed the endpoint, and its waiting deliveries
/// go now rather than at slots that back off to minutes; an endpoint still broken is tried once, not once per transcript.</summary>
[TestFixture]
public sealed class DispatcherRetryNowTests
{
    private TempDir _dir = null!;
    private LiteDbSpool _spool = null!;
    private FakeTimeProvider _time = null!;
    private readonly DispatcherOptions _options = new() { QuickRetries = 0 };

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

    private string ClosedTranscript(string endpoint = "dir")
    {
        var header = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, [endpoint]);
        _spool.Append([new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", Events.T0))]);
        _spool.Close(header.Id, Events.T0.AddMinutes(5));
        return header.Id;
    }

    /// <summary>A sink that fails while <paramref name="down"/> says so, counting its attempts.</summary>
    private static Mock<ITranscriptSink> Sink(string name, Func<bool> down)
    {
        var mock = new Mock<ITranscriptSink>();
        mock.SetupGet(s => s.Name).Returns(name);
        mock.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => down() ? throw new SinkException("endpoint down", isTransient: true) : Task.FromResult($"ok:{t.Id}"));
        return mock;
    }

    private static int Attempts(Mock<ITranscriptSink> sink) => sink.Invocations.Count(i => i.Method.Name == nameof(ITranscriptSink.DeliverAsync));

    /// <summary>Every transcript tried and failed once, each pass stopping at its first failure: all wait for a slot.</summary>
    private async Task<Dispatcher> AllWaitingAsync(Mock<ITranscriptSink> sink, int transcripts, bool retryWaitingAtStart)
    {
        var dispatcher = new Dispatcher(_spool, _spool, [sink.Object], NullLogger<Dispatcher>.Instance, _time, _options with { RetryWaitingAtStart = retryWaitingAtStart });
        for (var i = 0; i < transcripts; i++) await dispatcher.DeliverDueAsync(CancellationToken.None);
        Assert.That(Attempts(sink), Is.EqualTo(transcripts), "one attempt each");
        Assert.That(_spool.Undelivered().SelectMany(h => h.Deliveries), Has.All.Matches<EndpointDelivery>(d => d.NextAttemptUtc > _time.GetUtcNow()));
        return dispatcher;
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task WaitingDeliveriesGoAtOnceWhenAsked(bool retryWaitingAtStart)
    {
        for (var i = 0; i < 3; i++) ClosedTranscript();
        var down = true;
        var sink = Sink("dir", () => down);
        var dispatcher = await AllWaitingAsync(sink, 3, retryWaitingAtStart);

        down = false;
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "fixed, but each waits for its slot");
        Assert.That(dispatcher.RetryWaitingNow("dir"), Is.EqualTo(new[] { "dir" }));
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(3), "no clock moved: the operator's retry");
        Assert.That(_spool.Undelivered(), Is.Empty);
    }

    [Test]
    public async Task AnEndpointStillBrokenIsTriedOnceAndTheRestKeepTheirSlots()
    {
        for (var i = 0; i < 3; i++) ClosedTranscript();
        var sink = Sink("dir", () => true);
        var dispatcher = await AllWaitingAsync(sink, 3, retryWaitingAtStart: true);
        var slots = _spool.Undelivered().ToDictionary(h => h.Id, h => h.Deliveries.Single().NextAttemptUtc);

        dispatcher.RetryWaitingNow(null);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero);
        Assert.That(Attempts(sink), Is.EqualTo(4), "one more attempt, the pass stops at its failure");
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero);
        Assert.That(Attempts(sink), Is.EqualTo(4), "the others went back to their slots");
        var after = _spool.Undelivered().ToDictionary(h => h.Id, h => h.Deliveries.Single().NextAttemptUtc);
        Assert.That(after.Count(kv => kv.Value == slots[kv.Key]), Is.EqualTo(2), "two untouched slots, one rescheduled");
        Assert.That(after.Values, Has.All.GreaterThan(_time.GetUtcNow()));
    }

    [Test]
    public async Task OnlyTheNamedEndpointIsHurried()
    {
        ClosedTranscript("dir");
        ClosedTranscript("mail");
        var down = true;
        var dir = Sink("dir", () => down);
        var mail = Sink("mail", () => down);
        var dispatcher = new Dispatcher(_spool, _spool, [dir.Object, mail.Object], NullLogger<Dispatcher>.Instance, _time, _options);
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        down = false;

        Assert.That(dispatcher.RetryWaitingNow("mail"), Is.EqualTo(new[] { "mail" }));
        Assert.That(dispatcher.RetryWaitingNow("nosuch"), Is.Empty);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(Attempts(mail), Is.EqualTo(2));
        Assert.That(Attempts(dir), Is.EqualTo(1), "dir still waits for its slot");
    }
}
