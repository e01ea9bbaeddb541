using ImLogger.Conversations;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Conversations;

public class ConversationTrackerTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(10);
    private FakeTimeProvider _time = null!;
    private Mock<ITranscriptStore> _spool = null!;
    private ConversationTracker _tracker = null!;
    private int _opened;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        _spool = new Mock<ITranscriptStore>(MockBehavior.Strict);
        _opened = 0;
        _spool.Setup(s => s.OpenTranscript(It.IsAny<ConversationType>(), It.IsAny<string>(), It.IsAny<DateTimeOffset>(), It.IsAny<IReadOnlyList<string>>()))
            .Returns((ConversationType t, string k, DateTimeOffset at, IReadOnlyList<string> eps) => new TranscriptHeader
            {
                Id = $"t{++_opened}", ConversationType = t, ConversationKey = k, OpenedUtc = at, LastEventUtc = at,
                State = TranscriptState.Open, EventCount = 0,
                Deliveries = eps.Select(e => new EndpointDelivery { Endpoint = e, State = DeliveryState.Pending }).ToList(),
            });
        _spool.Setup(s => s.Append(It.IsAny<IReadOnlyList<SpoolAppend>>()));
        _spool.Setup(s => s.Close(It.IsAny<string>(), It.IsAny<DateTimeOffset>()));
        _spool.Setup(s => s.AddEndpoints(It.IsAny<string>(), It.IsAny<IReadOnlyList<string>>()));
        var endpoints = new Dictionary<string, string> { ["alice@example.test"] = "a", ["carol@example.test"] = "c" };
        _tracker = new ConversationTracker(_spool.Object, j => endpoints.GetValueOrDefault(j), Idle, _time, NullLogger<ConversationTracker>.Instance);
    }

    private ConversationEvent Event(string key = "alice@example.test bob@example.test", string logged = "alice@example.test") => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = _time.GetUtcNow(),
        Kind = EventKind.Message,
        Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne,
        ConversationKey = key,
        From = "alice@example.test/l",
        To = "bob@example.test",
        Text = "hi",
        LoggedUsers = [logged],
        RawXml = "<message/>",
    };

    [Test]
    public void EventsOfOneConversationShareATranscriptUntilItGoesIdle()
    {
        _tracker.Append([Event(), Event()]);
        _time.Advance(Idle - TimeSpan.FromSeconds(1));
        _tracker.Append([Event()]);
        Assert.That(_opened, Is.EqualTo(1));
        _spool.Verify(s => s.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", It.IsAny<DateTimeOffset>(),
            It.Is<IReadOnlyList<string>>(l => l.SequenceEqual(new[] { "a" }))), Times.Once);

        _time.Advance(Idle);
        var closed = _tracker.Append([Event()]);
        Assert.That(closed, Is.EqualTo(new[] { "t1" }));
        Assert.That(_opened, Is.EqualTo(2));
        _spool.Verify(s => s.Close("t1", It.IsAny<DateTimeOffset>()), Times.Once);
    }

    [Test]
    public void CloseIdleClosesOnlySilentConversations()
    {
        _tracker.Append([Event("k1")]);
        _time.Advance(TimeSpan.FromMinutes(6));
        _tracker.Append([Event("k2")]);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.That(_tracker.CloseIdle(), Is.EqualTo(new[] { "t1" }));
        Assert.That(_tracker.OpenCount, Is.EqualTo(1));
        Assert.That(_tracker.CloseAll(), Is.EqualTo(new[] { "t2" }));
        Assert.That(_tracker.OpenCount, Is.Zero);
    }

    [Test]
    public void EventsAreSpooledInOneWriteWithTheirTranscript()
    {
        var e1 = Event("k1");
        var e2 = Event("k2");
        IReadOnlyList<SpoolAppend>? written = null;
        _spool.Setup(s => s.Append(It.IsAny<IReadOnlyList<SpoolAppend>>())).Callback((IReadOnlyList<SpoolAppend> b) => written = b.ToList());
        _tracker.Append([e1, e2]);
        Assert.That(written, Is.EqualTo(new[] { new SpoolAppend("t1", e1), new SpoolAppend("t2", e2) }));
    }

    [Test]
    public void ALoggedUserWithAnotherEndpointAddsThatEndpoint()
    {
        _tracker.Append([Event("room@conference.example.test")]);
        _tracker.Append([Event("room@conference.example.test", logged: "carol@example.test")]);
        _spool.Verify(s => s.AddEndpoints("t1", It.Is<IReadOnlyList<string>>(l => l.SequenceEqual(new[] { "c" }))), Times.Once);
    }

    [Test]
    public void ResumeContinuesTranscriptsLeftOpenByACrash()
    {
        _spool.Setup(s => s.OpenTranscripts()).Returns([new TranscriptHeader
        {
            Id = "old", ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
            OpenedUtc = _time.GetUtcNow(), LastEventUtc = _time.GetUtcNow(), State = TranscriptState.Open, EventCount = 3,
            Deliveries = [new EndpointDelivery { Endpoint = "a", State = DeliveryState.Pending }],
        }]);
        Assert.That(_tracker.Resume(), Is.EqualTo(1));
        _tracker.Append([Event()]);
        Assert.That(_opened, Is.Zero);
        _spool.Verify(s => s.Append(It.Is<IReadOnlyList<SpoolAppend>>(b => b.Single().TranscriptId == "old")));
    }

    [Test]
    public void ASpoolFailurePropagatesSoTheCallerCanRetry()
    {
        _spool.Setup(s => s.Append(It.IsAny<IReadOnlyList<SpoolAppend>>())).Throws(new IOException("No space left on device"));
        Assert.Throws<IOException>(() => _tracker.Append([Event()]));
        _spool.Setup(s => s.Append(It.IsAny<IReadOnlyList<SpoolAppend>>()));
        _tracker.Append([Event()]);
        Assert.That(_opened, Is.EqualTo(1), "the retry goes into the transcript already opened");
    }
}
