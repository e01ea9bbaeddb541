using ImLogger.Conversations;
using ImLogger.Dispatch;
using ImLogger.Sinks;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Dispatch;

/// <summary>Deliveries in parts through the dispatcher and the real LiteDB spool: each accepted part is on record before
/// the next is sent, a retry (quick or scheduled, or after the operator requeued a dead letter) starts after it.</summary>
[TestFixture]
public sealed class DispatcherPartsTests
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

    /// <summary>Sends one event per part; fails (as told) before a given part. Records what it was asked to resume from and
    /// what the spool held when each part was reported.</summary>
    private sealed class PartsSink(LiteDbSpool spool) : IResumableSink
    {
        public string Name => "parts";
        public int FailBeforePart { get; set; }
        public bool Permanent { get; set; }
        public List<DeliveryProgress> ResumedFrom { get; } = [];
        public List<int> SentParts { get; } = [];

        public Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken) =>
            DeliverAsync(transcript, DeliveryProgress.None, _ => { }, cancellationToken);

        public Task<string> DeliverAsync(Transcript transcript, DeliveryProgress resume, Action<DeliveryProgress> accepted, CancellationToken cancellationToken)
        {
            ResumedFrom.Add(resume);
            for (var part = resume.PartsAccepted + 1; part <= transcript.Events.Count; part++)
            {
                if (part == FailBeforePart)
                {
                    FailBeforePart = 0;
                    throw new SinkException($"refused part {part}", isTransient: !Permanent);
                }
                SentParts.Add(part);
                accepted(new DeliveryProgress(part, part));
                var recorded = spool.Undelivered().Single(h => h.Id == transcript.Id).Deliveries.Single(d => d.Endpoint == Name);
                Assert.That(recorded.PartsAccepted, Is.EqualTo(part), "on record before the next part is sent");
            }
            return Task.FromResult("ok");
        }
    }

    private string ClosedTranscript(int events) =>
        SpooledTranscripts.Closed(_spool, "parts", Enumerable.Range(0, events).Select(i => $"m{i}").ToArray());

    private Dispatcher Create(PartsSink sink, int quickRetries = 0) =>
        new(_spool, _spool, [sink], NullLogger<Dispatcher>.Instance, _time, new DispatcherOptions { QuickRetries = quickRetries });

    [Test]
    public async Task AFailureAfterTwoParts_TheScheduledRetrySendsOnlyTheRest()
    {
        var id = ClosedTranscript(5);
        var sink = new PartsSink(_spool) { FailBeforePart = 3 };

        Assert.That(await Create(sink).DeliverDueAsync(CancellationToken.None), Is.Zero);
        var delivery = _spool.Undelivered().Single().Deliveries.Single();
        Assert.That((delivery.PartsAccepted, delivery.EventsAccepted, delivery.State), Is.EqualTo((2, 2, DeliveryState.Pending)));

        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.That(await Create(sink).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(sink.ResumedFrom, Is.EqualTo(new[] { DeliveryProgress.None, new DeliveryProgress(2, 2) }));
            Assert.That(sink.SentParts, Is.EqualTo(new[] { 1, 2, 3, 4, 5 }), "each part once");
            Assert.That(_spool.Load(id), Is.Null);
        });
    }

    [Test]
    public async Task AQuickRetryWithinThePass_ResumesFromWhatThisPassRecorded()
    {
        ClosedTranscript(4);
        var sink = new PartsSink(_spool) { FailBeforePart = 2 };
        var dispatcher = Create(sink, quickRetries: 1);

        var pass = dispatcher.DeliverDueAsync(CancellationToken.None);
        for (var i = 0; i < 100 && !pass.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(10);
        }

        Assert.That(await pass, Is.EqualTo(1));
        Assert.That(sink.ResumedFrom, Is.EqualTo(new[] { DeliveryProgress.None, new DeliveryProgress(1, 1) }));
        Assert.That(sink.SentParts, Is.EqualTo(new[] { 1, 2, 3, 4 }));
    }

    [Test]
    public async Task ADeadLetterRequeuedByTheOperator_KeepsItsAcceptedParts()
    {
        ClosedTranscript(3);
        var sink = new PartsSink(_spool) { FailBeforePart = 2, Permanent = true };
        await Create(sink).DeliverDueAsync(CancellationToken.None);
        Assert.That(_spool.Undelivered().Single().Deliveries.Single().State, Is.EqualTo(DeliveryState.Dead));

        Assert.That(_spool.RequeueDead(null), Is.EqualTo(1));
        Assert.That(await Create(sink).DeliverDueAsync(CancellationToken.None), Is.EqualTo(1));

        Assert.That(sink.ResumedFrom[^1], Is.EqualTo(new DeliveryProgress(1, 1)));
        Assert.That(sink.SentParts, Is.EqualTo(new[] { 1, 2, 3 }));
    }
}
