using ImLogger.Config;
using ImLogger.Continuity;
using ImLogger.Conversations;
using ImLogger.Domain;
using ImLogger.Seats;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using LiteDB;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Spool;

/// <summary>
/// One unit of work per ingest batch (issue 15), on a real LiteDB file: a seat taken, a transcript opened, its events, a
/// room learned and continuity records are committed together or not at all; after a failure inside the unit nothing of
/// it is on disk, the tracker has not kept the conversation it opened, the ledger keeps the seat pending, and the retry
/// stores everything once.
/// </summary>
[TestFixture]
public sealed class SpoolUnitOfWorkTests
{
    private TempDir _dir = null!;
    private string _path = null!;
    private LiteDbSpool _spool = null!;
    private FakeTimeProvider _clock = null!;
    private SeatLedger _seats = null!;
    private ConversationTracker _tracker = null!;

    private static readonly ImLoggerConfig Config = new()
    {
        SourcePath = "/etc/imlogger/imlogger.xml",
        Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
        SpoolPath = "/tmp/spool.db",
        IdleClose = TimeSpan.FromMinutes(10),
        Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local", Seats = 5, LoggedByDefault = true, Users = [] }],
        Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
    };

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _path = _dir.File("spool.db");
        _clock = new FakeTimeProvider(Events.T0);
        Open();
    }

    private void Open()
    {
        _spool = new LiteDbSpool(_path, NullLogger<LiteDbSpool>.Instance);
        _seats = new SeatLedger(() => Config, _spool, _clock, NullLogger<SeatLedger>.Instance);
        _tracker = new ConversationTracker(_spool, _seats.EndpointOf, Config.IdleClose, _clock, NullLogger<ConversationTracker>.Instance);
        _tracker.Resume();
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private static ConversationEvent FromBob(string text, int second = 0) =>
        Events.Chat("bob@example.test/phone", "carol@elsewhere.test", text, Events.T0.AddSeconds(second)) with { LoggedUsers = ["bob@example.test"] };

    private static readonly ContinuityRecord CallStart =
        new("call:1", "call", Events.T0, new Dictionary<string, string?> { ["with"] = "carol@elsewhere.test" });

    /// <summary>What the batch's unit writes (as StanzaPipeline.Store does), with <paramref name="fault"/> at its end.</summary>
    private IReadOnlyList<string> StoreBatch(IReadOnlyList<ConversationEvent> events, Action? fault = null)
    {
        var seen = _seats.UnsavedSeats();
        IReadOnlyList<string> closed = [];
        _tracker.InOneWrite(() =>
        {
            _seats.SaveSeats(seen);
            closed = _tracker.Append(events);
            _spool.AddLearnedEncryptedRoom("secret@rooms.example.test", "encrypted traffic seen");
            _spool.SaveContinuity([CallStart], []);
            fault?.Invoke();
        });
        _seats.SeatsSaved(seen);
        return closed;
    }

    private Dictionary<string, int> OnDisk()
    {
        _spool.Dispose();
        using (var db = new LiteDatabase(new ConnectionString { Filename = _path, Connection = ConnectionType.Direct, ReadOnly = true }))
        {
            var counts = new[] { "transcripts", LiteDbSpool.BatchesCollection, "seen_users", "encrypted_rooms", "continuity", "activity" }
                .ToDictionary(n => n, n => db.GetCollection(n).Count());
            Open();
            return counts;
        }
    }

    [Test]
    public void AFailureInsideTheUnit_LeavesNothingOfTheBatch_AndTheRetryStoresItOnce()
    {
        _seats.ObserveSender("bob@example.test");
        Assert.That(_seats.IsLogged("bob@example.test"), Is.True, "logged from this stanza on, before anything is written");
        Assert.That(_spool.SeenUsers(), Is.Empty, "the seat waits for its batch");

        var fault = Assert.Throws<IOException>(() => StoreBatch([FromBob("one"), FromBob("two", 1)], () => throw new IOException("injected")))!;
        Assert.That(fault.Message, Is.EqualTo("injected"));
        Assert.That(_tracker.OpenCount, Is.Zero, "the conversation the failed unit opened is not kept in memory either");
        Assert.That(_seats.UnsavedSeats().Select(u => u.Jid), Is.EqualTo(new[] { "bob@example.test" }), "the seat is still to be written");

        // The retry, as the ingest loop makes it: the same events, in the same (fresh) process state.
        StoreBatch([FromBob("one"), FromBob("two", 1)]);
        Assert.That(_seats.UnsavedSeats(), Is.Empty);
        var open = _spool.OpenTranscripts().Single();
        _spool.Close(open.Id, Events.T0.AddMinutes(5));
        Assert.Multiple(() =>
        {
            Assert.That(_spool.Load(open.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "one", "two" }), "stored once");
            Assert.That(_spool.SeenUsers().Select(u => u.Jid), Is.EqualTo(new[] { "bob@example.test" }));
            Assert.That(_spool.LearnedEncryptedRooms().Keys, Is.EqualTo(new[] { "secret@rooms.example.test" }));
            Assert.That(_spool.LoadContinuity().Select(r => r.Id), Is.EqualTo(new[] { "call:1" }));
        });
    }

    [Test]
    public void AFailedUnit_LeavesNoRecordOnDisk_EvenAfterAReopen()
    {
        _seats.ObserveSender("bob@example.test");
        Assert.Throws<IOException>(() => StoreBatch([FromBob("one")], () => throw new IOException("injected")));
        var counts = OnDisk();
        Assert.That(counts.Values, Is.All.Zero, string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));
        Assert.That(_seats.IsLogged("bob@example.test"), Is.False, "a new process never heard of bob: his seat was not kept without his events");
    }

    [Test]
    public void ARefusalByTheStorageInsideTheUnit_RollsBackTheSeatWrittenBeforeIt()
    {
        _seats.ObserveSender("bob@example.test");
        var huge = FromBob(new string('x', 17 * 1024 * 1024)); // over LiteDB's 16 MB document limit: LiteDB refuses it mid-unit
        var e = Assert.Throws<SpoolUnavailableException>(() => StoreBatch([huge]))!;
        Assert.That(e.InnerException, Is.InstanceOf<LiteException>(), "LiteDB's own error, as the spool's type");
        var counts = OnDisk();
        Assert.That(counts.Values, Is.All.Zero, string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));
    }

    [Test]
    public void NestedUnitsJoinTheOuterOne_AndEachWriteOutsideAUnitCommitsOnItsOwn()
    {
        var id = _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, ["local"]).Id;
        Assert.Throws<InvalidOperationException>(() => ((IUnitOfWork)_spool).InOneWrite(() =>
        {
            ((IUnitOfWork)_spool).InOneWrite(() => _spool.Append([new SpoolAppend(id, FromBob("inner"))]));
            _spool.AddSeenUser(new SeenUser("dave@example.test", Events.T0));
            throw new InvalidOperationException("outer fails after the inner one returned");
        }));
        _spool.OnRollback(() => Assert.Fail("outside a unit an undo is never run"));
        _spool.Append([new SpoolAppend(id, FromBob("after"))]);
        _spool.Close(id, Events.T0.AddMinutes(1));
        Assert.That(_spool.Load(id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "after" }), "the inner append went with the outer unit");
        Assert.That(_spool.SeenUsers(), Is.Empty);
    }
}
