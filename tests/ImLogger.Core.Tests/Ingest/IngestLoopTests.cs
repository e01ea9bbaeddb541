using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Ingest;
using ImLogger.Notifier;
using ImLogger.Pipeline;
using ImLogger.Policy;
using ImLogger.Seats;
using ImLogger.Spool;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Ingest;

/// <summary>
/// The ingest loop (read batch, decode, classify, decide, notify, store, reply) against a scripted connection: the real
/// stanza pipeline and a real spool in a temp file; only the server's side of the stream and the clock are fakes.
/// </summary>
public partial class IngestLoopTests
{
    private string _dir = null!;
    private LiteDbSpool _spool = null!;
    private WatchedClock _clock = null!;
    private CopyDeduplicator _dedup = null!;
    private WatchedStages _stages = null!;
    private FakeStanzaConnection _server = null!;
    private LinesLogger<IngestLoop> _log = null!;
    private bool _spoolLost;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("imlogger-ingest-").FullName;
        _spool = new LiteDbSpool(Path.Combine(_dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
        _clock = new WatchedClock(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        _dedup = new CopyDeduplicator(TimeSpan.FromMinutes(10), _clock);
        SetUpStagesWith(_dedup);
        _server = new FakeStanzaConnection();
        _log = new LinesLogger<IngestLoop>();
        _spoolLost = false;
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private IngestLoop Loop(bool inline, Func<XElement, bool>? signals = null) =>
        new(_server, _stages, _spool, _dedup, new IngestOptions { Inline = inline, SpoolPath = "/var/lib/imlogger/spool.db" }, _clock, _log)
        {
            Signals = signals,
            SpoolLost = () => _spoolLost,
        };

    private static XElement Copy(string id, string text) => XElement.Parse(
        $"<message xmlns='jabber:component:accept' from='example.test' to='archive.example.test'><forwarded xmlns='urn:xmpp:forward:0'>" +
        $"<message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test/phone' type='chat' id='{id}'><body>{text}</body></message>" +
        "</forwarded></message>");

    private static XElement Request(string id, string text, string from = "example.test") => XElement.Parse($"""
        <iq xmlns='jabber:component:accept' type='set' id='{id}' from='{from}' to='archive.example.test'>
          <batch xmlns='urn:imlogger:inline:0'>
            <item id='1' direction='out' user='alice@example.test' to-local='true'>
              <message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test' type='chat' id='m-{id}'><body>{text}</body></message>
            </item>
          </batch>
        </iq>
        """);

    private IReadOnlyList<string> Archived() =>
        _spool.OpenTranscripts().SelectMany(h => _spool.Load(h.Id)!.Events).Where(e => e.Kind == EventKind.Message).Select(e => e.Text ?? "").ToList();

    /// <summary>The verdict responses sent, by request id, in the order they went out.</summary>
    private List<string> Verdicts() =>
        _server.Sent.Where(s => s.Element(InlineRequest.Ns + "verdicts") != null).Select(s => (string?)s.Attribute("id") ?? "").ToList();

    /// <summary>Waits for a stopped loop to end. The loop's waits (tap linger, store retry, the inline stop's bound) run on
    /// the test's clock, which moves only when a test moves it: moved here while the loop has not ended, so a wait the
    /// test did not foresee fails the test after the bound instead of hanging the run (a batch read while a stop's drain
    /// was still filling the queue lingered forever: a hung CI run).</summary>
    private async Task Stopped(Task run)
    {
        await Eventually.True(() => run.IsCompleted, "the stopped loop ends", () => _clock.Advance(TimeSpan.FromMilliseconds(5)));
        try { await run; }
        catch (OperationCanceledException) { }
    }

    [Test]
    public async Task TapCopiesArrivingWithinTheLingerAreStoredInOneBatch()
    {
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: false).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Copy("c1", "one"));
        await Eventually.True(() => _clock.Timers > 0, "the loop lingers for more copies");
        await _server.Incoming.Writer.WriteAsync(Copy("c2", "two"));
        await _server.Incoming.Writer.WriteAsync(Copy("c3", "three"));
        await Eventually.True(() => _server.Read == 3, "the server's copies are read");
        Assert.That(_stages.Batches, Is.Empty, "nothing stored before the linger ends");
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        await Eventually.True(() => _stages.Stores == 2, "the batch is stored, then what became of the notices it led to");
        await stop.CancelAsync();
        await Stopped(run);
        Assert.Multiple(() =>
        {
            Assert.That(_stages.Batches, Is.EqualTo(new[] { 3 }), "one batch, one spool write, for the three copies");
            Assert.That(Archived(), Is.EqualTo(new[] { "one", "two", "three" }));
        });
    }

    [Test]
    public async Task InlineVerdictsGoOutInOrderEachAfterItsBatchIsStoredAndBeforeItsNotices()
    {
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true).RunAsync(stop.Token);
        for (var i = 1; i <= 9; i++) await _server.Incoming.Writer.WriteAsync(Request($"r{i}", $"text {i}"));
        await Eventually.True(() => Verdicts().Count == 9, "every request answered");
        await stop.CancelAsync();
        await Stopped(run);
        Assert.Multiple(() =>
        {
            Assert.That(Verdicts(), Is.EqualTo(Enumerable.Range(1, 9).Select(i => $"r{i}")), "verdicts in the order the requests came: " + string.Join(" ", _server.Sent.Select(x => (string?)x.Attribute("id"))));
            Assert.That(_stages.Batches.All(b => b <= 4), Is.True, "inline batches hold at most 4 requests");
            Assert.That(Archived(), Is.EqualTo(Enumerable.Range(1, 9).Select(i => $"text {i}")));
            var first = _server.Sent.First();
            Assert.That(first.Element(InlineRequest.Ns + "verdicts"), Is.Not.Null, "the first reply is a verdict, not the archive notice it led to");
            Assert.That(_server.Sent.Any(s => ((string?)s.Attribute("id"))?.StartsWith("imlogger-notice-", StringComparison.Ordinal) == true), Is.True,
                "alice is told she is logged, after her first verdict");
        });
    }

    [Test]
    public async Task AStoreThatFailsIsRetriedWithTheSameEventsAndNoVerdictGoesOutUntilItWorks()
    {
        _stages.FailNextStores(2);
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "kept through a full disk"));
        await Eventually.True(() => _stages.Failures == 1, "the first store fails");
        Assert.That(_server.Sent, Is.Empty, "no verdict for what is not stored");
        await Eventually.True(() => Verdicts().Count == 1, "stored and answered once the disk has room", () => _clock.Advance(TimeSpan.FromSeconds(1)));
        await stop.CancelAsync();
        await Stopped(run);
        Assert.Multiple(() =>
        {
            Assert.That(_stages.Failures, Is.EqualTo(2));
            Assert.That(_stages.Batches, Is.EqualTo(new[] { 1 }), "classified once, whatever the retries");
            Assert.That(Archived(), Is.EqualTo(new[] { "kept through a full disk" }), "stored once");
            var error = _log.Lines.First(l => l.Level == LogLevel.Error).Text;
            Assert.That(error, Does.Contain("/var/lib/imlogger/spool.db").And.Contain("No space left on device").And.Contain("check free disk space"));
        });
    }

    [Test]
    public async Task ALostSpoolEndsTheLoopUnansweredAndTheRunFails()
    {
        _stages.FailNextStores(int.MaxValue);
        _spoolLost = true;
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "nowhere to go"));
        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await run);
        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("spooling loop ended"));
            Assert.That(_server.Sent, Is.Empty, "unanswered: the server's fail-closed refuses it");
            Assert.That(_log.Lines.Single(l => l.Level == LogLevel.Critical).Text, Does.Contain("starts again from the spool"));
        });
    }

    [Test]
    public async Task AProcessingFailureStopsReadingAndTheRunFailsWithIt()
    {
        _stages.ClassifyFault = batch => batch.Any(s => (string?)s.Attribute("id") == "bad") ? new FormatException("classifier bug") : null;
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("bad", "x"));
        var error = Assert.ThrowsAsync<FormatException>(async () => await run);
        Assert.That(error!.Message, Is.EqualTo("classifier bug"));
        Assert.That(stop.IsCancellationRequested, Is.False, "the loop stopped reading on its own");
    }

    [Test]
    public async Task AStopInTapModeStoresEveryCopyAlreadyRead()
    {
        for (var i = 1; i <= 600; i++) await _server.Incoming.Writer.WriteAsync(Copy($"c{i}", $"copy {i}"));
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync(); // stopped before the loop read anything: the connection's drain still brings them in
        var run = Loop(inline: false).RunAsync(stop.Token);
        // A batch read while the drain is still filling the queue lingers for more on the clock (tap mode), and this
        // clock moves only when the test moves it: without this, one run in twenty waited forever.
        await Eventually.True(() => run.IsCompleted, "the stop ends once every copy read is stored",
            () => _clock.Advance(TimeSpan.FromMilliseconds(5)));
        await Stopped(run);
        Assert.That(Archived(), Has.Count.EqualTo(600));
        Assert.That(_stages.Batches.Max(), Is.LessThanOrEqualTo(512));
    }

    [Test]
    public async Task AnInlineStopAnswersWhatWasReadAndLeavesRequestsArrivingDuringItForTheNextStart()
    {
        using var gate = new SemaphoreSlim(0);
        _stages.Gate = gate;
        using var stop = new CancellationTokenSource();
        var loop = Loop(inline: true);
        var run = loop.RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "read before the stop"));
        await _stages.StoreEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync(); // r1 is being stored: the stream stays open until it is answered
        await _server.Incoming.Writer.WriteAsync(Request("r2", "arrived during the stop"));
        await _server.Incoming.Writer.WriteAsync(Copy("c1", "a tap copy is no verdict request"));
        await Eventually.True(() => _server.Read == 3, "the stanzas arriving during the stop are read");
        Assert.That(run.IsCompleted, Is.False, "the stream is not closed on a request read and unanswered");
        gate.Release(10);
        await Eventually.True(() => run.IsCompleted, "the stop completes once r1 is answered", () => _clock.Advance(TimeSpan.FromMilliseconds(20)));
        await Stopped(run);
        Assert.Multiple(() =>
        {
            Assert.That(Verdicts(), Is.EqualTo(new[] { "r1" }), "answered if and only if stored");
            Assert.That(loop.LeftForNextStartCount, Is.EqualTo(1));
            Assert.That(Archived(), Does.Contain("read before the stop").And.Not.Contain("arrived during the stop"));
            Assert.That(_log.Lines.Any(l => l.Text.Contains("1 request(s) that arrived during the stop are left for the next start", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public async Task AnInlineStopGivesUpWaitingAfterItsBoundAndSaysSo()
    {
        using var gate = new SemaphoreSlim(0);
        _stages.Gate = gate;
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "stuck"));
        await _stages.StoreEntered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Eventually.True(() => _log.Lines.Any(l => l.Level == LogLevel.Warning), "the stop gives up after 10 s of its clock",
            () => _clock.Advance(TimeSpan.FromSeconds(1)));
        gate.Release(10);
        await Stopped(run);
        Assert.That(_log.Lines.First(l => l.Level == LogLevel.Warning).Text, Does.Contain("1 stanza(s) read from the server not yet stored and answered"));
    }

    [Test]
    public async Task ServerSignalsAreTakenOffTheStreamAndNeverArchived()
    {
        var signal = XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='hb' from='example.test' to='archive.example.test'><alive xmlns='urn:imlogger:inline:0'/></iq>");
        var taken = 0;
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true, s => (string?)s.Attribute("id") == "hb" && Interlocked.Increment(ref taken) > 0).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(signal);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "after the heartbeat"));
        await Eventually.True(() => Verdicts().Count == 1, "the request after it is answered");
        await stop.CancelAsync();
        await Stopped(run);
        Assert.That(taken, Is.EqualTo(1));
        Assert.That(_stages.Batches.Sum(), Is.EqualTo(1), "the signal never reached the stages");
    }

    [Test]
    public async Task RepliesThatCannotGoOutAreLostWithAWarningForANoticeAndTheLoopGoesOn()
    {
        _server.Connected = false;
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: true).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "first"));
        await _server.Incoming.Writer.WriteAsync(Request("r2", "second"));
        await Eventually.True(() => _stages.Stores >= 1 && _stages.SpooledCount >= 2, "both stored");
        await Eventually.True(() => _log.Lines.Any(l => l.Level == LogLevel.Warning && l.Text.StartsWith("Archive notice to", StringComparison.Ordinal)), "the lost notice is reported");
        _server.Connected = true;
        await _server.Incoming.Writer.WriteAsync(Request("r3", "third"));
        await Eventually.True(() => Verdicts().Count == 1, "the loop goes on once connected");
        await stop.CancelAsync();
        await Stopped(run);
        Assert.That(Verdicts(), Is.EqualTo(new[] { "r3" }));
    }

    [Test]
    public async Task AfterACrashARequestSentAgainIsArchivedOnceAndStillAnswered()
    {
        // The run before the crash: stored, then died before its verdict went out.
        var (events, _) = _stages.Classify([Request("r1", "stored, never answered")]);
        _stages.Store(events);
        _dedup = new CopyDeduplicator(TimeSpan.FromMinutes(10), _clock); // a new process remembers nothing...
        SetUpStagesWith(_dedup);
        var loop = Loop(inline: true);
        Assert.That(loop.RecallRecentEvents(), Is.GreaterThan(0), "...until it recalls the recent events from the spool");
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Request("r1", "stored, never answered"));
        await Eventually.True(() => Verdicts().Count == 1, "the request sent again is answered");
        await stop.CancelAsync();
        await Stopped(run);
        Assert.That(Archived(), Is.EqualTo(new[] { "stored, never answered" }), "archived once");
    }

    [Test]
    public async Task ANoticeDecidedWhileTheConnectionIsDownIsStoredAsNotSent_ThenSentAtTheNextActivity()
    {
        _server.Connected = false;
        using var stop = new CancellationTokenSource();
        var run = Loop(inline: false).RunAsync(stop.Token);
        await _server.Incoming.Writer.WriteAsync(Copy("c1", "said while the connection was down"));
        await Eventually.True(() => Outcomes().Count > 0, "the notice's outcome is stored", () => _clock.Advance(TimeSpan.FromMilliseconds(5)));
        _server.Connected = true;
        await _server.Incoming.Writer.WriteAsync(Copy("c2", "said once it is back"));
        await Eventually.True(() => Outcomes().Any(o => o.Reason == NoticeOutcome.Sent), "the notice goes out and is stored as sent",
            () => _clock.Advance(TimeSpan.FromMilliseconds(5)));
        await stop.CancelAsync();
        await Stopped(run);
        var notices = Notices();
        var outcomes = Outcomes();
        Assert.Multiple(() =>
        {
            Assert.That(notices.Select(n => n.Reason), Is.EqualTo(new[] { NoticeOutcome.Decided, NoticeOutcome.Decided }), "decided twice: not sent, then sent");
            Assert.That(outcomes.Select(o => (o.RelatedId, o.Reason)), Is.EqualTo(new[]
            {
                (notices[0].Id, "not sent: not connected to the server"),
                (notices[1].Id, NoticeOutcome.Sent),
            }));
            Assert.That(_server.Sent.Count(s => ((string?)s.Attribute("id"))?.StartsWith(ImLogger.Outbound.OutboundStanzas.NoticeIdPrefix, StringComparison.Ordinal) == true), Is.EqualTo(2),
                "alice and bob are each told once, once the connection is back");
            Assert.That(_log.Lines.Any(l => l.Level == LogLevel.Warning && l.Text.Contains("not connected to the server; the transcript says so")), Is.True);
        });
    }

    private List<ConversationEvent> NoticeEvents() =>
        _spool.OpenTranscripts().SelectMany(h => _spool.Load(h.Id)!.Events).Where(e => e.Kind == EventKind.Notice).ToList();

    private List<ConversationEvent> Notices() => NoticeEvents().Where(e => !NoticeOutcome.IsOutcome(e)).ToList();

    private List<ConversationEvent> Outcomes() => NoticeEvents().Where(NoticeOutcome.IsOutcome).ToList();

    /// <summary>A fresh pipeline over the same spool, as a new process builds it.</summary>
    private void SetUpStagesWith(CopyDeduplicator dedup)
    {
        var config = new ImLoggerConfig
        {
            SourcePath = Path.Combine(_dir, "imlogger.xml"),
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = Path.Combine(_dir, "spool.db"),
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations = [new OrganizationConfig
            {
                Domains = ["example.test"], DefaultEndpoint = "local", Seats = 10,
                Users = [new LoggedUserConfig("alice@example.test", null)],
            }],
            Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = _dir }],
        };
        var seats = new SeatLedger(() => config, _spool, _clock, NullLogger<SeatLedger>.Instance);
        var tracker = new ConversationTracker(_spool, seats.EndpointOf, config.IdleClose, _clock, NullLogger<ConversationTracker>.Instance);
        tracker.Resume();
        _stages = new WatchedStages(new StanzaPipeline(
            new EnvelopeDecoder(["example.test"], "archive.example.test", _clock),
            new StanzaClassifier(seats.IsLogged),
            dedup,
            tracker,
            new ArchiveNotifier(seats.OrganizationOf, "archive.example.test", _clock),
            new CompliancePolicy(config.Restrictions, seats.OrganizationOf, new ClientRegistry("archive.example.test"), _spool),
            seats,
            new LateRefusals(_clock, durable: _spool),
            NullLogger<StanzaPipeline>.Instance));
    }
}
