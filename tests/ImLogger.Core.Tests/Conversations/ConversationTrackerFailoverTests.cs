using ImLogger.Conversations;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace ImLogger.Tests.Conversations;

/// <summary>A conversation split at a failover: each part says where it goes on (docs/failover.md).</summary>
public class ConversationTrackerFailoverTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(10);
    private static readonly SplitNote From = new("archive.example.test", "Continued from the instance active before b took over");
    private FakeTimeProvider _time = null!;
    private Mock<ITranscriptStore> _spool = null!;
    private ConversationTracker _tracker = null!;
    private List<SpoolAppend> _appended = null!;
    private List<string> _closed = null!;
    private int _opened;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        _spool = new Mock<ITranscriptStore>(MockBehavior.Strict);
        (_appended, _closed, _opened) = ([], [], 0);
        _spool.Setup(s => s.OpenTranscript(It.IsAny<ConversationType>(), It.IsAny<string>(), It.IsAny<DateTimeOffset>(), It.IsAny<IReadOnlyList<string>>()))
            .Returns((ConversationType t, string k, DateTimeOffset at, IReadOnlyList<string> eps) => new TranscriptHeader
            {
                Id = $"t{++_opened}", ConversationType = t, ConversationKey = k, OpenedUtc = at, LastEventUtc = at,
                State = TranscriptState.Open, EventCount = 0,
                Deliveries = eps.Select(e => new EndpointDelivery { Endpoint = e, State = DeliveryState.Pending }).ToList(),
            });
        _spool.Setup(s => s.Append(It.IsAny<IReadOnlyList<SpoolAppend>>())).Callback((IReadOnlyList<SpoolAppend> a) => _appended.AddRange(a));
        _spool.Setup(s => s.Close(It.IsAny<string>(), It.IsAny<DateTimeOffset>())).Callback((string id, DateTimeOffset _) => _closed.Add(id));
        _tracker = new ConversationTracker(_spool.Object, j => j == "alice@example.test" ? "a" : null, Idle, _time, NullLogger<ConversationTracker>.Instance);
    }

    private ConversationEvent Message(string key = "alice@example.test bob@example.test") => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = _time.GetUtcNow(), Kind = EventKind.Message, Direction = Direction.Outgoing,
        ConversationType = key.Contains(' ') ? ConversationType.OneToOne : ConversationType.GroupChat, ConversationKey = key,
        From = "alice@example.test/l", To = "bob@example.test", Text = "hi", LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
    };

    private List<ConversationEvent> EventsOf(string id) => _appended.Where(a => a.TranscriptId == id).Select(a => a.Event).ToList();

    [Test]
    public void TranscriptsOpenedWithinTheIdleTimeAfterATakeoverStartWithTheNote_LaterOnesDoNot()
    {
        _tracker.ContinuingFrom(From, Idle);
        _tracker.Append([Message(), Message()]);
        _tracker.Append([Message("room@conference.example.test")]);
        _time.Advance(Idle);
        _tracker.Append([Message("alice@example.test carol@example.test")]);

        var first = EventsOf("t1");
        Assert.Multiple(() =>
        {
            Assert.That(first.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Notice, EventKind.Message, EventKind.Message }), "the note comes first, once");
            Assert.That(first[0].Text, Is.EqualTo(From.Text));
            Assert.That(first[0].From, Is.EqualTo("archive.example.test"));
            Assert.That(first[0].LoggedUsers, Is.EqualTo(new[] { "alice@example.test" }));
            Assert.That(EventsOf("t2")[0].Kind, Is.EqualTo(EventKind.Notice));
            Assert.That(EventsOf("t2")[0].ConversationType, Is.EqualTo(ConversationType.GroupChat));
            Assert.That(EventsOf("t3").Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Message }), "a conversation begun after the window continues nothing");
        });
    }

    [Test]
    public void AnotherInstanceHoldingTheComponentClosesEveryOpenTranscriptWithTheNote()
    {
        _tracker.Append([Message(), Message("room@conference.example.test")]);
        var note = new SplitNote("archive.example.test", "Continued at another ImLogger instance");

        var closed = _tracker.CloseForFailover(note);

        Assert.Multiple(() =>
        {
            Assert.That(closed, Is.EquivalentTo(new[] { "t1", "t2" }));
            Assert.That(_closed, Is.EquivalentTo(new[] { "t1", "t2" }));
            Assert.That(EventsOf("t1").Last().Text, Is.EqualTo(note.Text), "the note is the transcript's last line");
            Assert.That(EventsOf("t2").Last().Kind, Is.EqualTo(EventKind.Notice));
            Assert.That(_tracker.OpenCount, Is.Zero);
            Assert.That(_tracker.CloseForFailover(note), Is.Empty, "nothing open: nothing written");
        });
    }

    [Test]
    public void AGracefulStopWithAClosingNoteEndsEachTranscriptWithIt_WithoutOneNothingIsAdded()
    {
        _tracker.Append([Message()]);
        _tracker.CloseAll();
        Assert.That(EventsOf("t1").Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Message }));

        _tracker.ClosingNote = new SplitNote("archive.example.test", "instance a stopped");
        _tracker.Append([Message()]);
        _tracker.CloseAll();
        Assert.That(EventsOf("t2").Select(e => e.Text), Is.EqualTo(new[] { "hi", "instance a stopped" }));
    }
}
