using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Dispatch;

[TestFixture]
public sealed class DispatcherTests
{
    private TempDir _dir = null!;
    private LiteDbSpool _spool = null!;
    private FakeTimeProvider _time = null!;
    private ListLogger<Dispatcher> _log = null!;
    // Quick (in-pass) retries wait on the fake clock; the tests that exercise them turn them on and advance it.
    private readonly DispatcherOptions _options = new() { QuickRetries = 0 };

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _spool = new LiteDbSpool(_dir.File("spool.db"), NullLogger<LiteDbSpool>.Instance);
        _time = new FakeTimeProvider(Events.T0.AddHours(1));
        _log = new ListLogger<Dispatcher>();
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private Dispatcher Create(DispatcherOptions? options, params ITranscriptSink[] sinks) =>
        new(_spool, _spool, sinks, _log, _time, options ?? _options);

    private Dispatcher Create(params ITranscriptSink[] sinks) => Create(null, sinks);

    private static Mock<ITranscriptSink> Sink(string name, Func<Transcript, Task<string>>? deliver = null)
    {
        var mock = new Mock<ITranscriptSink>();
        mock.SetupGet(s => s.Name).Returns(name);
        mock.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) => deliver is null ? Task.FromResult($"ok:{t.Id}") : deliver(t));
        return mock;
    }

    private string ClosedTranscript(params string[] endpoints)
    {
        var header = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, endpoints);
        _spool.Append([
            new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", Events.T0)),
            new SpoolAppend(header.Id, Events.Chat("bob@example.test/phone", "alice@example.test", "hi", Events.T0.AddSeconds(1))),
        ]);
        _spool.Close(header.Id, Events.T0.AddMinutes(5));
        return header.Id;
    }

    private EndpointDelivery Delivery(string id, string endpoint) =>
        _spool.Undelivered().Single(h => h.Id == id).Deliveries.Single(d => d.Endpoint == endpoint);

    [Test]
    public async Task Success_MarksDelivered_AndDeletesFromTheSpool()
    {
        var id = ClosedTranscript("dir");
        var sink = Sink("dir");

        var delivered = await Create(sink.Object).DeliverDueAsync(CancellationToken.None);

        Assert.That(delivered, Is.EqualTo(1));
        Assert.That(_spool.Load(id), Is.Null);
        sink.Verify(s => s.DeliverAsync(It.Is<Transcript>(t => t.Id == id && t.Events.Count == 2), It.IsAny<CancellationToken>()), Times.Once);
        Assert.That(_log.At(LogLevel.Information), Has.Some.Contains($"transcript {id} (alice@example.test bob@example.test, 2 events) delivered to dir: ok:{id}"));
    }

    [Test]
    public async Task TransientFailure_KeepsTheTranscript_AndRetriesOnlyAfterTheDelay()
    {
        var id = ClosedTranscript("dir");
        var fail = true;
        var sink = Sink("dir", t => fail ? throw new SinkException("endpoint down", isTransient: true) : Task.FromResult("ok"));
        var dispatcher = Create(sink.Object);
        var failedAt = _time.GetUtcNow();

        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero);
        var d = Delivery(id, "dir");
        Assert.Multiple(() =>
        {
            Assert.That(d.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(d.Attempts, Is.EqualTo(1));
            Assert.That(d.LastError, Does.Contain("endpoint down"));
            Assert.That(d.NextAttemptUtc, Is.GreaterThanOrEqualTo(failedAt + _options.InitialRetryDelay));
            Assert.That(d.NextAttemptUtc, Is.LessThanOrEqualTo(failedAt + _options.InitialRetryDelay * 1.2));
        });
        Assert.That(_log.At(LogLevel.Warning), Has.Some.Contains("endpoint down"));

        fail = false;
        _time.Advance(_options.InitialRetryDelay - TimeSpan.FromMilliseconds(1));
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "not due before the delay");
        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Once);

        _time.Advance(_options.InitialRetryDelay * 0.2 + TimeSpan.FromMilliseconds(2));
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(_spool.Load(id), Is.Null);
    }

    [Test]
    public async Task PermanentFailure_MakesTheDeliveryDead_AndKeepsIt()
    {
        var id = ClosedTranscript("mail");
        var sink = Sink("mail", _ => throw new SinkException("550 message rejected", isTransient: false));
        var dispatcher = Create(sink.Object);

        await dispatcher.DeliverDueAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromDays(1));
        await dispatcher.DeliverDueAsync(CancellationToken.None);

        var d = Delivery(id, "mail");
        Assert.That(d.State, Is.EqualTo(DeliveryState.Dead));
        Assert.That(d.LastError, Does.Contain("550 message rejected"));
        Assert.That(_spool.Load(id), Is.Not.Null);
        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.That(_log.At(LogLevel.Error), Has.Some.Contains("550 message rejected").And.Some.Contains("imlogger spool retry"));
    }

    [Test]
    public async Task TransientFailures_BecomeDeadAfterMaxAttempts()
    {
        var id = ClosedTranscript("dir");
        var sink = Sink("dir", _ => throw new IOException("unexpected")); // unexpected exceptions count as transient
        var dispatcher = Create(_options with { MaxAttempts = 3 }, sink.Object);

        for (var i = 0; i < 3; i++)
        {
            await dispatcher.DeliverDueAsync(CancellationToken.None);
            Assert.That(Delivery(id, "dir").State, Is.EqualTo(i < 2 ? DeliveryState.Pending : DeliveryState.Dead));
            _time.Advance(_options.MaxRetryDelay);
        }
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        var d = Delivery(id, "dir");
        Assert.That(d.Attempts, Is.EqualTo(3));
        Assert.That(d.LastError, Does.Contain("gave up after 3 attempts").And.Contain("unexpected"));
        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Exactly(3));
    }

    [Test]
    public async Task ConcurrentPasses_ForOneEndpoint_DeliverATranscriptOnce()
    {
        // The endpoint's loop and the final pass at shutdown can overlap; they must not both send the transcript.
        var id = ClosedTranscript("smtp");
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = Sink("smtp", _ => release.Task);
        var dispatcher = Create(sink.Object);

        var first = dispatcher.DeliverDueAsync(CancellationToken.None);
        var second = dispatcher.DeliverDueAsync(CancellationToken.None);
        await Task.Delay(100);
        release.SetResult("250 ok");

        Assert.That(await first + await second, Is.EqualTo(1));
        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.That(_spool.Load(id), Is.Null);
    }

    [Test]
    public async Task QuickRetry_RidesOutABlipWithinOnePass()
    {
        var id = ClosedTranscript("smtp");
        var calls = 0;
        var sink = Sink("smtp", t => ++calls < 3
            ? throw new SinkException("421 try again later", isTransient: true)
            : Task.FromResult("250 ok"));
        var dispatcher = Create(_options with { QuickRetries = 2, QuickRetryDelay = TimeSpan.FromSeconds(1) }, sink.Object);

        var pass = dispatcher.DeliverDueAsync(CancellationToken.None);
        for (var i = 0; i < 200 && !pass.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5);
        }

        Assert.That(await pass, Is.EqualTo(1));
        Assert.That(calls, Is.EqualTo(3));
        Assert.That(_spool.Load(id), Is.Null, "delivered and deleted");
    }

    [Test]
    public async Task QuickRetry_DoesNotRetryAPermanentFailure()
    {
        var id = ClosedTranscript("smtp");
        var sink = Sink("smtp", _ => throw new SinkException("554 content rejected", isTransient: false));
        var dispatcher = Create(_options with { QuickRetries = 2 }, sink.Object);

        var pass = dispatcher.DeliverDueAsync(CancellationToken.None);
        Assert.That(await Task.WhenAny(pass, Task.Delay(TimeSpan.FromSeconds(10))), Is.SameAs(pass), "no retry delay was waited for");

        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.That(Delivery(id, "smtp").State, Is.EqualTo(DeliveryState.Dead));
        Assert.That(Delivery(id, "smtp").LastError, Does.Contain("554 content rejected"));
    }

    [Test]
    public async Task EndpointMaxAttempts_OverridesTheDefault()
    {
        var id = ClosedTranscript("smtp");
        var sink = Sink("smtp", _ => throw new SinkException("connection refused", isTransient: true));
        var dispatcher = Create(_options with { MaxAttempts = 20, EndpointMaxAttempts = new Dictionary<string, int> { ["smtp"] = 2 } }, sink.Object);

        await dispatcher.DeliverDueAsync(CancellationToken.None);
        Assert.That(Delivery(id, "smtp").State, Is.EqualTo(DeliveryState.Pending));
        _time.Advance(_options.MaxRetryDelay);
        await dispatcher.DeliverDueAsync(CancellationToken.None);

        Assert.That(Delivery(id, "smtp").State, Is.EqualTo(DeliveryState.Dead));
        Assert.That(Delivery(id, "smtp").LastError, Does.Contain("gave up after 2 attempts").And.Contain("connection refused"));
    }

    [Test]
    public async Task OneFailingSink_DoesNotStopAnother()
    {
        var first = ClosedTranscript("broken", "dir");
        var second = ClosedTranscript("broken", "dir");
        var broken = Sink("broken", _ => throw new InvalidOperationException("bug in sink"));
        var dir = Sink("dir");

        var delivered = await Create(broken.Object, dir.Object).DeliverDueAsync(CancellationToken.None);

        Assert.That(delivered, Is.EqualTo(2));
        foreach (var id in new[] { first, second })
            Assert.That(_spool.Undelivered().Single(h => h.Id == id).Deliveries.Select(d => d.Endpoint), Is.EqualTo(new[] { "broken" }));
    }

    [Test]
    public async Task HangingSink_DoesNotDelayAnotherWhileRunning()
    {
        var hang = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = Sink("stuck", _ => hang.Task);
        var dir = Sink("dir");
        var dispatcher = Create(stuck.Object, dir.Object);
        using var cts = new CancellationTokenSource();
        var run = dispatcher.RunAsync(cts.Token);

        var first = ClosedTranscript("stuck", "dir");
        dispatcher.Wake();
        await WaitUntil(() => _spool.Undelivered().Single(h => h.Id == first).Deliveries.Select(d => d.Endpoint).SequenceEqual(["stuck"]));

        var second = ClosedTranscript("dir");
        dispatcher.Wake();
        await WaitUntil(() => _spool.Load(second) is null);

        await cts.CancelAsync();
        hang.TrySetCanceled();
        Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(5)), Throws.Nothing);
    }

    [Test]
    public async Task UnknownEndpoint_StaysPending_AndIsLoggedOncePerPass()
    {
        var a = ClosedTranscript("ghost");
        var b = ClosedTranscript("ghost", "dir");
        var dispatcher = Create(Sink("dir").Object);

        await dispatcher.DeliverDueAsync(CancellationToken.None);

        Assert.That(_spool.Load(a), Is.Not.Null);
        Assert.That(Delivery(b, "ghost").State, Is.EqualTo(DeliveryState.Pending));
        Assert.That(_spool.Undelivered().Single(h => h.Id == b).Deliveries, Has.Count.EqualTo(1));
        var errors = _log.At(LogLevel.Error);
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Contain("'ghost'").And.Contain("2 transcript(s)"));
    }

    [Test]
    public async Task Wake_StartsDeliveryWithoutWaitingForThePoll_AndCancellationReturnsQuietly()
    {
        var sink = Sink("dir");
        var dispatcher = Create(_options with { PollInterval = TimeSpan.FromHours(1) }, sink.Object);
        using var cts = new CancellationTokenSource();
        var run = dispatcher.RunAsync(cts.Token);
        await Task.Delay(50);

        var id = ClosedTranscript("dir");
        dispatcher.Wake();
        await WaitUntil(() => _spool.Load(id) is null);

        await cts.CancelAsync();
        Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(5)), Throws.Nothing);
    }

    [Test]
    public async Task RunAsync_SurvivesSpoolErrors()
    {
        var spool = new Mock<IDeliveryQueue>();
        var calls = 0;
        spool.Setup(s => s.DueForDelivery(It.IsAny<string>(), It.IsAny<DateTimeOffset>(), It.IsAny<int>()))
            .Returns(() => Interlocked.Increment(ref calls) == 1 ? throw new IOException("disk gone") : Array.Empty<TranscriptHeader>());
        spool.Setup(s => s.ScheduledAfter(It.IsAny<string>(), It.IsAny<DateTimeOffset>(), It.IsAny<int>())).Returns(Array.Empty<TranscriptHeader>());
        spool.Setup(s => s.Backlog()).Returns(Array.Empty<EndpointBacklog>());
        var dispatcher = new Dispatcher(spool.Object, Mock.Of<ITranscriptReader>(), [Sink("dir").Object], _log, _time, _options);
        using var cts = new CancellationTokenSource();
        var run = dispatcher.RunAsync(cts.Token);

        await WaitUntil(() => Volatile.Read(ref calls) >= 1);
        _time.Advance(_options.PollInterval);
        await WaitUntil(() => Volatile.Read(ref calls) >= 2);
        await cts.CancelAsync();
        Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(5)), Throws.Nothing);
        Assert.That(_log.At(LogLevel.Error), Has.Some.Contains("disk gone"));
    }

    [Test]
    public void RetryDelay_GrowsExponentially_WithJitter_AndIsCapped()
    {
        var dispatcher = Create(Sink("dir").Object);
        for (var i = 0; i < 20; i++)
        {
            Assert.That(dispatcher.RetryDelay(1), Is.InRange(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6)));
            Assert.That(dispatcher.RetryDelay(3), Is.InRange(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(24)));
            Assert.That(dispatcher.RetryDelay(8), Is.InRange(TimeSpan.FromSeconds(640) * 0.9, TimeSpan.FromMinutes(10)));
            Assert.That(dispatcher.RetryDelay(50), Is.EqualTo(TimeSpan.FromMinutes(10)));
        }
    }

    [Test]
    public void DuplicateSinkNames_AreRejected()
    {
        Assert.Throws<ArgumentException>(() => Create(Sink("dir").Object, Sink("dir").Object));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not met within 5 s");
            await Task.Delay(10);
        }
    }
}
