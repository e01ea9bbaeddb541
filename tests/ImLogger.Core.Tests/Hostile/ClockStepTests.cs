using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Liveness;
using ImLogger.Notifier;
using ImLogger.ServerRules;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace ImLogger.Tests.Hostile;

/// <summary>
/// A wall clock stepped a day back (NTP correcting a clock that ran a day fast) or a day forward changes no retry, idle
/// close or notice by more than a minute (issue 14). The <see cref="SteppedClock"/> moves wall time alone, as a step does,
/// while the monotonic timestamp and the timers go on. Real spool in a temp file.
/// </summary>
public class ClockStepTests
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private TempDir _dir = null!;
    private LiteDbSpool _spool = null!;
    private SteppedClock _clock = null!;

    private readonly DispatcherOptions _options = new()
    {
        QuickRetries = 0, InitialRetryDelay = TimeSpan.FromMinutes(5), MaxRetryDelay = TimeSpan.FromMinutes(10),
    };

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _spool = new LiteDbSpool(_dir.File("spool.db"), NullLogger<LiteDbSpool>.Instance);
        _clock = new SteppedClock(Events.T0.AddHours(1));
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    // ---- retries ----

    private string ClosedTranscript() => SpooledTranscripts.Closed(_spool, "dir", "hello");

    /// <summary>An endpoint that fails its first <paramref name="failures"/> deliveries (transiently), then accepts.</summary>
    private static Mock<ITranscriptSink> Flaky(int failures, List<DateTimeOffset>? tries = null, TimeProvider? clock = null)
    {
        var calls = 0;
        var sink = new Mock<ITranscriptSink>();
        sink.SetupGet(s => s.Name).Returns("dir");
        sink.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Returns((Transcript t, CancellationToken _) =>
            {
                tries?.Add(clock!.GetUtcNow());
                return ++calls <= failures ? Task.FromException<string>(new SinkException("421 try later", isTransient: true)) : Task.FromResult("ok");
            });
        return sink;
    }

    private Dispatcher Dispatcher(ITranscriptSink sink) => new(_spool, _spool, [sink], NullLogger<Dispatcher>.Instance, _clock, _options);

    private TimeSpan WaitOf(string id) =>
        _spool.Undelivered().Single(h => h.Id == id).Deliveries.Single().NextAttemptUtc!.Value - _clock.GetUtcNow();

    [TestCase(-1, TestName = "A retry scheduled before the clock is stepped a day back waits its delay, not a day")]
    [TestCase(+1, TestName = "A retry scheduled before the clock is stepped a day forward still waits its delay")]
    public async Task RetryKeepsItsDelayAcrossAStep(int days)
    {
        var id = ClosedTranscript();
        var dispatcher = Dispatcher(Flaky(1).Object);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "first attempt fails");
        var wait = WaitOf(id);
        _clock.Step(Day * days);
        _clock.Advance(wait - Minute);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "a minute before its time: not yet");
        _clock.Advance(Minute);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1), "on time");
        Assert.That(_spool.Load(id), Is.Null);
    }

    [Test]
    public async Task ARetryScheduledAfterABackwardStepWaitsItsDelayToo()
    {
        var id = ClosedTranscript();
        var dispatcher = Dispatcher(Flaky(2).Object);
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        _clock.Step(-Day);
        _clock.Advance(WaitOf(id) + Day); // the stored time, in the fast clock's frame, lies a day ahead
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "second attempt (on time) fails again");
        var wait = WaitOf(id);
        Assert.That(wait, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(_options.MaxRetryDelay), "stored in the corrected clock's frame");
        _clock.Advance(wait - Minute);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, "not early, though the spool is asked as of the unstepped time");
        _clock.Advance(Minute);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
    }

    [Test]
    public async Task AClockSteppingBackAndForthDuringARetryWaitMovesNothing()
    {
        var id = ClosedTranscript();
        var tries = new List<DateTimeOffset>();
        var dispatcher = Dispatcher(Flaky(1).Object);
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        var wait = WaitOf(id);
        var elapsed = TimeSpan.Zero;
        foreach (var step in new[] { -Day, 2 * Day, -3 * Day, Day, TimeSpan.FromHours(-7), TimeSpan.FromSeconds(90) })
        {
            _clock.Step(step);
            _clock.Advance(TimeSpan.FromSeconds(30));
            elapsed += TimeSpan.FromSeconds(30);
            Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero, $"after a step of {step}");
        }
        _clock.Advance(wait - elapsed - Minute);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.Zero);
        _clock.Advance(Minute);
        Assert.That(await dispatcher.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
    }

    [Test]
    public async Task AfterARestartARetryStoredByAClockThatRanADayFastIsDueAtOnce()
    {
        var id = ClosedTranscript();
        await Dispatcher(Flaky(1).Object).DeliverDueAsync(CancellationToken.None);
        _clock.Step(-Day); // corrected while ImLogger was down
        var restarted = Dispatcher(Flaky(0).Object);
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1), "not a day late");
        Assert.That(_spool.Load(id), Is.Null);
    }

    [Test]
    public async Task AfterARestartAWaitingRetryIsTriedAtOnce()
    {
        ClosedTranscript();
        await Dispatcher(Flaky(1).Object).DeliverDueAsync(CancellationToken.None);
        var restarted = Dispatcher(Flaky(0).Object);
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.EqualTo(1),
            "the operator restarts after fixing the endpoint: the retry goes now, not at its slot");
    }

    [Test]
    public async Task AfterARestartWithTheEndpointStillDownTheOthersKeepTheirSlots()
    {
        var ids = Enumerable.Range(0, 3).Select(_ => ClosedTranscript()).ToList();
        var first = Dispatcher(Flaky(3).Object);
        for (var i = 0; i < 3; i++) await first.DeliverDueAsync(CancellationToken.None);
        var sink = Flaky(1);
        var restarted = Dispatcher(sink.Object);
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.Zero, "the first waiting one is tried and fails");
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.Zero,
            "the others wait for their slots: a backlog is not tried one by one against an endpoint that is down");
        sink.Verify(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()), Times.Once());
    }

    [Test]
    public async Task AnOutageOfAWeekendIsRetriedThroughAndOnlyThePastTheHorizonIsDead()
    {
        var id = ClosedTranscript();
        var dispatcher = Dispatcher(Flaky(int.MaxValue).Object);
        TimeSpan? last = null;
        // Three days down: still pending (20 attempts used to make it dead within hours), each delay no shorter than the last.
        for (var hour = 0; hour < 72; hour++)
        {
            await dispatcher.DeliverDueAsync(CancellationToken.None);
            var wait = WaitOf(id);
            if (last is { } before && wait > TimeSpan.Zero) Assert.That(wait, Is.GreaterThanOrEqualTo(before - TimeSpan.FromSeconds(1)), $"hour {hour}");
            last = wait > TimeSpan.Zero ? wait : last;
            _clock.Advance(TimeSpan.FromHours(1));
        }
        Assert.That(_spool.Backlog().Single().Pending, Is.EqualTo(1), "still retried after three days");
        _clock.Advance(TimeSpan.FromDays(5));
        await dispatcher.DeliverDueAsync(CancellationToken.None);
        var delivery = _spool.Backlog().Single();
        Assert.That(delivery.Dead, Is.EqualTo(1), "dead once it still fails past the 7-day horizon");
    }

    [Test]
    public void RetryDelaysNeverShrinkForOneDelivery()
    {
        var dispatcher = Dispatcher(Flaky(0).Object);
        foreach (var delivery in Enumerable.Range(0, 50).Select(i => $"t{i}\ndir"))
        {
            var delays = Enumerable.Range(1, 40).Select(a => dispatcher.RetryDelay(a, delivery)).ToList();
            Assert.That(delays, Is.Ordered, delivery);
            Assert.That(delays[^1], Is.LessThanOrEqualTo(_options.MaxRetryDelay));
        }
    }

    [Test]
    public async Task WithoutRetryAtStartARetryWithinTheLongestDelayStillWaits()
    {
        ClosedTranscript();
        await Dispatcher(Flaky(1).Object).DeliverDueAsync(CancellationToken.None);
        var restarted = new Dispatcher(_spool, _spool, [Flaky(0).Object], NullLogger<Dispatcher>.Instance, _clock, _options with { RetryWaitingAtStart = false });
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.Zero, "a plain restart does not hurry a retry");
    }

    [Test]
    public async Task AfterARestartEveryFarFutureRetryIsTriedEvenWhenTheFirstFailsAgain()
    {
        var ids = Enumerable.Range(0, 3).Select(_ => ClosedTranscript()).ToList();
        var first = Dispatcher(Flaky(3).Object);
        for (var i = 0; i < 3; i++) await first.DeliverDueAsync(CancellationToken.None); // each pass stops at its first failure
        Assert.That(ids.Select(WaitOf), Has.All.GreaterThan(TimeSpan.Zero));
        _clock.Step(-Day);
        var restarted = Dispatcher(Flaky(1).Object);
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.Zero, "the endpoint is still down: the pass stops");
        Assert.That(await restarted.DeliverDueAsync(CancellationToken.None), Is.EqualTo(2), "the others are still due, though the spool would say tomorrow");
    }

    // ---- idle close ----

    private ConversationTracker Tracker() =>
        new(_spool, _ => "dir", TimeSpan.FromMinutes(10), _clock, NullLogger<ConversationTracker>.Instance);

    private ConversationEvent Said(string text) => Events.Chat("alice@example.test/laptop", "bob@example.test", text, _clock.GetUtcNow());

    [TestCase(-1, TestName = "A conversation idle for its idle time closes though the clock was stepped a day back")]
    [TestCase(+1, TestName = "A conversation is not closed early by a clock stepped a day forward")]
    public void IdleCloseKeepsItsTime(int days)
    {
        var tracker = Tracker();
        tracker.Append([Said("hello")]);
        _clock.Step(Day * days);
        _clock.Advance(TimeSpan.FromMinutes(9));
        Assert.That(tracker.CloseIdle(), Is.Empty, "a minute before the idle time");
        tracker.Append([Said("still here")]);
        Assert.That(tracker.OpenCount, Is.EqualTo(1), "the next event continues the same transcript");
        _clock.Advance(TimeSpan.FromMinutes(9));
        Assert.That(tracker.CloseIdle(), Is.Empty);
        _clock.Advance(Minute);
        Assert.That(tracker.CloseIdle(), Has.Count.EqualTo(1), "closed on time");
    }

    [Test]
    public void ATranscriptResumedAfterTheClockWasSteppedBackClosesWithinTheIdleTime()
    {
        Tracker().Append([Said("hello")]);
        _clock.Step(-Day);
        var resumed = Tracker();
        Assert.That(resumed.Resume(), Is.EqualTo(1));
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.That(resumed.CloseIdle(), Has.Count.EqualTo(1), "its last event lies a day 'ahead': counted as just now, not as tomorrow");
    }

    [Test]
    public void ATranscriptResumedAfterAForwardStepClosesAtOnce()
    {
        Tracker().Append([Said("hello")]);
        _clock.Step(Day);
        var resumed = Tracker();
        resumed.Resume();
        Assert.That(resumed.CloseIdle(), Has.Count.EqualTo(1), "only the wall time survives a restart: a day of silence as far as anyone can tell");
    }

    // ---- notice hour ----

    private ArchiveNotifier Notifier()
    {
        var org = new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "dir", Users = [new LoggedUserConfig("alice@example.test", null)] };
        return new ArchiveNotifier(j => j == "alice@example.test" ? org : null, "archive.example.test", _clock);
    }

    private ConversationEvent Chat() => Events.Chat("alice@example.test/laptop", "bob@example.test", "hi", _clock.GetUtcNow())
        with { ConversationKey = "alice@example.test bob@example.test", LoggedUsers = ["alice@example.test"] };

    [TestCase(-1, TestName = "The notice hour is an hour though the clock was stepped a day back")]
    [TestCase(+1, TestName = "The notice hour is an hour though the clock was stepped a day forward")]
    public void NoticeHourKeepsItsLength(int days)
    {
        var n = Notifier();
        Assert.That(n.Observe([Chat()]).Stanzas, Has.Count.EqualTo(2));
        _clock.Step(Day * days);
        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.That(n.Observe([Chat()]).Stanzas, Is.Empty, "within the hour");
        _clock.Advance(Minute);
        Assert.That(n.Observe([Chat()]).Stanzas, Has.Count.EqualTo(2), "an hour later, on activity");
    }

    // ---- server-side liveness, copy dedup ----

    private static ImLoggerConfig WatchedConfig() => new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
        SpoolPath = "/var/lib/imlogger/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "dir", Users = [new LoggedUserConfig("alice@example.test", null)] }],
        Endpoints = [new DirectoryEndpointConfig { Name = "dir", Path = "/tmp/a" }],
    };

    [TestCase(-1, TestName = "A server side that stops answering is a problem after its deadline though the clock was stepped a day back")]
    [TestCase(+1, TestName = "A server side answering on time is no problem though the clock was stepped a day forward")]
    public void LivenessDeadlineKeepsItsLength(int days)
    {
        var config = WatchedConfig();
        var watch = new AdapterWatch(() => config, _clock);
        watch.Connected();
        watch.Observe(new AdapterSign("example.test", RulesGeneration.Of(config), "test"));
        _clock.Step(Day * days);
        var deadline = config.Attach.AliveDeadline;
        _clock.Advance(deadline - TimeSpan.FromSeconds(1));
        Assert.That(watch.Check().Single().Healthy, Is.True, "within the deadline");
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.That(watch.Check().Single().Healthy, Is.False, "silent past the deadline");
    }

    [TestCase(-1)]
    [TestCase(+1)]
    public void TheCopyWindowKeepsItsLength(int days)
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromMinutes(1), _clock);
        var said = Events.Chat("alice@example.test/laptop", "bob@example.test", "hello", _clock.GetUtcNow()) with { StanzaId = "m1" };
        Assert.That(dedup.IsRepeat(said), Is.False);
        _clock.Step(Day * days);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(dedup.IsRepeat(said with { Id = "copy" }), Is.True, "the second copy, 30 s later, is a repeat");
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.That(dedup.IsRepeat(said with { Id = "again" }), Is.False, "after the window it is a new message");
    }
}
