using ImLogger.Conversations;
using ImLogger.Spool;
using ImLogger.Tests.DeliveryTestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

[TestFixture]
public sealed class LiteDbSpoolTests
{
    private TempDir _dir = null!;
    private string _path = null!;
    private LiteDbSpool _spool = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDir();
        _path = _dir.File("spool.db");
        _spool = Open(_path);
    }

    [TearDown]
    public void TearDown()
    {
        _spool.Dispose();
        _dir.Dispose();
    }

    private static LiteDbSpool Open(string path) => new(path, NullLogger<LiteDbSpool>.Instance);

    private TranscriptHeader OpenOneToOne(params string[] endpoints) =>
        _spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", Events.T0, endpoints.Length == 0 ? ["dir"] : endpoints);

    private TranscriptHeader OpenWithEvents(int count, params string[] endpoints)
    {
        var header = OpenOneToOne(endpoints);
        _spool.Append(Enumerable.Range(0, count)
            .Select(i => new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", $"message {i}", Events.T0.AddSeconds(i))))
            .ToList());
        return header;
    }

    private static void AssertSameEvent(ConversationEvent actual, ConversationEvent expected)
    {
        Assert.Multiple(() =>
        {
            Assert.That(actual.Id, Is.EqualTo(expected.Id));
            Assert.That(actual.ReceivedUtc, Is.EqualTo(expected.ReceivedUtc));
            Assert.That(actual.ReceivedUtc.UtcTicks, Is.EqualTo(expected.ReceivedUtc.UtcTicks));
            Assert.That(actual.ReceivedUtc.Offset, Is.EqualTo(TimeSpan.Zero));
            Assert.That(actual.Kind, Is.EqualTo(expected.Kind));
            Assert.That(actual.Direction, Is.EqualTo(expected.Direction));
            Assert.That(actual.ConversationType, Is.EqualTo(expected.ConversationType));
            Assert.That(actual.ConversationKey, Is.EqualTo(expected.ConversationKey));
            Assert.That(actual.From, Is.EqualTo(expected.From));
            Assert.That(actual.To, Is.EqualTo(expected.To));
            Assert.That(actual.SenderBareJid, Is.EqualTo(expected.SenderBareJid));
            Assert.That(actual.Nick, Is.EqualTo(expected.Nick));
            Assert.That(actual.Text, Is.EqualTo(expected.Text));
            Assert.That(actual.Html, Is.EqualTo(expected.Html));
            Assert.That(actual.StanzaId, Is.EqualTo(expected.StanzaId));
            Assert.That(actual.StanzaType, Is.EqualTo(expected.StanzaType));
            Assert.That(actual.StatusCodes, Is.EqualTo(expected.StatusCodes));
            Assert.That(actual.LoggedUsers, Is.EqualTo(expected.LoggedUsers));
            Assert.That(actual.RawXml, Is.EqualTo(expected.RawXml));
        });
    }

    [Test]
    public void EveryEventFieldRoundTrips()
    {
        var header = _spool.OpenTranscript(ConversationType.GroupChat, "room@conference.example.test", Events.T0, ["dir"]);
        var full = new ConversationEvent
        {
            Id = Guid.NewGuid().ToString("N"),
            // non-UTC offset and sub-millisecond ticks: must come back as the same instant, in UTC, to the tick
            ReceivedUtc = new DateTimeOffset(2026, 11, 25, 9, 30, 1, TimeSpan.FromHours(1)).AddTicks(1234567),
            Kind = EventKind.Left,
            Direction = Direction.Both,
            ConversationType = ConversationType.GroupChat,
            ConversationKey = "room@conference.example.test",
            From = "room@conference.example.test/bob",
            To = "alice@example.test/laptop",
            SenderBareJid = "bob@example.test",
            Nick = "bob ☃ \u00e9",
            Text = "reason\r\nline 2 \0 <b>",
            Html = "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>x</body></html>",
            StanzaId = "id-1",
            StanzaType = "unavailable",
            StatusCodes = [307, 110],
            LoggedUsers = ["alice@example.test", "carol@example.test"],
            RawXml = "<presence from='room@conference.example.test/bob' type='unavailable'/>",
        };
        var minimal = new ConversationEvent
        {
            Id = "e2",
            ReceivedUtc = Events.T0,
            Kind = EventKind.Notice,
            Direction = Direction.Outgoing,
            ConversationType = ConversationType.GroupChat,
            ConversationKey = "room@conference.example.test",
            From = "imlogger.example.test",
            To = "room@conference.example.test",
            LoggedUsers = [],
            RawXml = "",
        };
        _spool.Append([new SpoolAppend(header.Id, full), new SpoolAppend(header.Id, minimal)]);
        _spool.Close(header.Id, Events.T0.AddHours(1));

        var loaded = _spool.Load(header.Id)!;
        Assert.That(loaded.Events, Has.Count.EqualTo(2));
        AssertSameEvent(loaded.Events[0], full);
        AssertSameEvent(loaded.Events[1], minimal);
        Assert.That(loaded.Events[0].ReceivedUtc.UtcTicks % TimeSpan.TicksPerMillisecond, Is.Not.Zero, "sub-millisecond precision kept");
    }

    [Test]
    public void OpenAppendCloseLoad_KeepsOrderAndHeader()
    {
        var header = OpenOneToOne("dir", "mail");
        Assert.That(header.State, Is.EqualTo(TranscriptState.Open));
        var first = Enumerable.Range(0, 5).Select(i => Events.Chat("alice@example.test/laptop", "bob@example.test", $"m{i}", Events.T0.AddSeconds(i))).ToList();
        var second = Enumerable.Range(5, 7).Select(i => Events.Chat("bob@example.test/phone", "alice@example.test", $"m{i}", Events.T0.AddSeconds(i))).ToList();
        _spool.Append(first.Select(e => new SpoolAppend(header.Id, e)).ToList());
        _spool.Append(second.Select(e => new SpoolAppend(header.Id, e)).ToList());

        var open = _spool.OpenTranscripts().Single();
        Assert.That(open.EventCount, Is.EqualTo(12));
        Assert.That(open.LastEventUtc, Is.EqualTo(Events.T0.AddSeconds(11)));
        Assert.That(_spool.DueForDelivery("dir", Events.T0.AddDays(1), 10), Is.Empty, "open transcripts are not due");

        var closed = Events.T0.AddMinutes(30);
        _spool.Close(header.Id, closed);
        Assert.That(_spool.OpenTranscripts(), Is.Empty);

        var loaded = _spool.Load(header.Id)!;
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Events.Select(e => e.Text), Is.EqualTo(first.Concat(second).Select(e => e.Text)));
            Assert.That(loaded.ClosedUtc, Is.EqualTo(closed));
            Assert.That(loaded.OpenedUtc, Is.EqualTo(Events.T0));
            Assert.That(loaded.ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
        });
        var pending = _spool.Undelivered().Single();
        Assert.That(pending.State, Is.EqualTo(TranscriptState.Pending));
        Assert.That(pending.Deliveries.Select(d => d.Endpoint), Is.EquivalentTo(new[] { "dir", "mail" }));
        Assert.That(_spool.DueForDelivery("dir", closed, 10).Single().Id, Is.EqualTo(header.Id));
    }

    [Test]
    public void AppendToUnknownOrClosedTranscript_Throws_AndWritesNothing()
    {
        var header = OpenWithEvents(1);
        _spool.Close(header.Id, Events.T0.AddMinutes(5));
        var other = OpenOneToOne();
        var batch = new List<SpoolAppend>
        {
            new(other.Id, Events.Chat("alice@example.test/x", "bob@example.test", "ok", Events.T0)),
            new(header.Id, Events.Chat("alice@example.test/x", "bob@example.test", "late", Events.T0)),
        };
        Assert.Throws<InvalidOperationException>(() => _spool.Append(batch));
        Assert.Throws<InvalidOperationException>(() => _spool.Append([new SpoolAppend("nope", Events.Chat("a@x/r", "b@y", "t", Events.T0))]));
        Assert.That(_spool.OpenTranscripts().Single(t => t.Id == other.Id).EventCount, Is.Zero, "the batch is one transaction");
        Assert.That(_spool.Load(header.Id)!.Events, Has.Count.EqualTo(1));
    }

    [Test]
    public void OpenTranscript_WithoutEndpoints_Throws()
    {
        Assert.Throws<ArgumentException>(() => _spool.OpenTranscript(ConversationType.OneToOne, "a@x b@y", Events.T0, []));
    }

    [Test]
    public void AddEndpoints_AddsOnlyNewOnes()
    {
        var header = OpenWithEvents(1, "dir");
        _spool.AddEndpoints(header.Id, ["mail", "dir"]);
        _spool.Close(header.Id, Events.T0.AddMinutes(1));
        Assert.That(_spool.Undelivered().Single().Deliveries.Select(d => d.Endpoint), Is.EqualTo(new[] { "dir", "mail" }));
        Assert.Throws<InvalidOperationException>(() => _spool.AddEndpoints(header.Id, ["x"]));
    }

    [Test]
    public void ClosingAnEmptyTranscript_DeletesIt()
    {
        var header = OpenOneToOne();
        _spool.Close(header.Id, Events.T0.AddMinutes(1));
        Assert.Multiple(() =>
        {
            Assert.That(_spool.Load(header.Id), Is.Null);
            Assert.That(_spool.OpenTranscripts(), Is.Empty);
            Assert.That(_spool.Undelivered(), Is.Empty);
        });
    }

    [Test]
    public void MarkDelivered_DeletesOnlyAfterTheLastEndpoint()
    {
        var header = OpenWithEvents(3, "dir", "mail");
        var keep = OpenWithEvents(2, "dir");
        _spool.Close(header.Id, Events.T0.AddMinutes(1));
        _spool.Close(keep.Id, Events.T0.AddMinutes(1));

        _spool.MarkDelivered(header.Id, "dir");
        var remaining = _spool.Undelivered().Single(h => h.Id == header.Id);
        Assert.That(remaining.Deliveries.Select(d => d.Endpoint), Is.EqualTo(new[] { "mail" }));
        Assert.That(_spool.Load(header.Id)!.Events, Has.Count.EqualTo(3));
        Assert.That(_spool.DueForDelivery("dir", Events.T0.AddDays(1), 10).Select(h => h.Id), Is.EqualTo(new[] { keep.Id }));

        _spool.MarkDelivered(header.Id, "dir"); // repeated: harmless
        _spool.MarkDelivered(header.Id, "mail");
        Assert.That(_spool.Load(header.Id), Is.Null);
        Assert.That(_spool.Undelivered().Select(h => h.Id), Is.EqualTo(new[] { keep.Id }));
        Assert.That(_spool.Load(keep.Id)!.Events, Has.Count.EqualTo(2), "other transcripts' events untouched");
        Assert.DoesNotThrow(() => _spool.MarkDelivered(header.Id, "mail"));
    }

    [Test]
    public void RecordFailure_SchedulesRetry_ThenDead()
    {
        var header = OpenWithEvents(1, "dir");
        var closed = Events.T0.AddMinutes(1);
        _spool.Close(header.Id, closed);

        _spool.RecordFailure(header.Id, "dir", "disk full", closed.AddSeconds(30), dead: false);
        var d = _spool.Undelivered().Single().Deliveries.Single();
        Assert.Multiple(() =>
        {
            Assert.That(d.Attempts, Is.EqualTo(1));
            Assert.That(d.State, Is.EqualTo(DeliveryState.Pending));
            Assert.That(d.NextAttemptUtc, Is.EqualTo(closed.AddSeconds(30)));
            Assert.That(d.LastError, Is.EqualTo("disk full"));
        });
        Assert.That(_spool.DueForDelivery("dir", closed.AddSeconds(29), 10), Is.Empty);
        Assert.That(_spool.DueForDelivery("dir", closed.AddSeconds(30), 10), Has.Count.EqualTo(1));

        _spool.RecordFailure(header.Id, "dir", "rejected", null, dead: true);
        d = _spool.Undelivered().Single().Deliveries.Single();
        Assert.Multiple(() =>
        {
            Assert.That(d.Attempts, Is.EqualTo(2));
            Assert.That(d.State, Is.EqualTo(DeliveryState.Dead));
            Assert.That(d.LastError, Is.EqualTo("rejected"));
        });
        Assert.That(_spool.DueForDelivery("dir", closed.AddYears(1), 10), Is.Empty, "dead is never due");
        Assert.That(_spool.Load(header.Id), Is.Not.Null, "dead transcripts are kept");
    }

    [Test]
    public void DueForDelivery_OldestFirst_AndLimited()
    {
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var h = OpenWithEvents(1, "dir");
            _spool.Close(h.Id, Events.T0.AddMinutes(10 - i)); // later opened, earlier closed
            ids.Add(h.Id);
        }
        var due = _spool.DueForDelivery("dir", Events.T0.AddHours(1), 3);
        Assert.That(due.Select(h => h.Id), Is.EqualTo(new[] { ids[3], ids[2], ids[1] }));
        Assert.That(_spool.DueForDelivery("other", Events.T0.AddHours(1), 3), Is.Empty);
    }

    [Test]
    public void Reopen_RestoresOpenAndPendingTranscripts()
    {
        var open = OpenWithEvents(2, "dir");
        var pending = OpenWithEvents(3, "dir", "mail");
        _spool.Close(pending.Id, Events.T0.AddMinutes(1));
        _spool.RecordFailure(pending.Id, "mail", "down", Events.T0.AddMinutes(2), dead: false);
        _spool.Dispose();

        _spool = Open(_path);
        var reopened = _spool.OpenTranscripts().Single();
        Assert.That(reopened.Id, Is.EqualTo(open.Id));
        Assert.That(reopened.EventCount, Is.EqualTo(2));
        var undelivered = _spool.Undelivered().Single();
        Assert.That(undelivered.Id, Is.EqualTo(pending.Id));
        Assert.That(undelivered.Deliveries.Single(d => d.Endpoint == "mail").Attempts, Is.EqualTo(1));

        // appending continues the sequence after a restart
        _spool.Append([new SpoolAppend(open.Id, Events.Chat("alice@example.test/r", "bob@example.test", "after restart", Events.T0.AddMinutes(3)))]);
        Assert.That(_spool.Load(open.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "message 0", "message 1", "after restart" }));
    }

    [Test]
    public void AcknowledgedWrites_AreRecoveredFromTheFileAndItsLog_WithoutDisposing()
    {
        // Simulates a crash: the first spool is never disposed; copies of its data file and LiteDB's log taken right
        // after Append returned are opened as if after a restart. An acknowledged write is in the log (fsynced) until
        // a checkpoint copies it into the data file; LiteDB's recovery at open reads it back from there.
        var header = OpenWithEvents(0, "dir");
        var batch = Enumerable.Range(0, 200)
            .Select(i => new SpoolAppend(header.Id, Events.Chat("alice@example.test/laptop", "bob@example.test", $"crash {i} " + new string('x', 200), Events.T0.AddSeconds(i))))
            .ToList();
        _spool.Append(batch);

        var copy = _dir.File("copy.db");
        File.Copy(_path, copy);
        File.Copy(LiteDbSpool.LogFileOf(_path), LiteDbSpool.LogFileOf(copy));
        using var recovered = Open(copy);
        var transcript = recovered.OpenTranscripts().Single();
        Assert.That(transcript.EventCount, Is.EqualTo(200));
        Assert.That(recovered.Load(header.Id)!.Events.Select(e => e.Text), Is.EqualTo(batch.Select(b => b.Event.Text)));
    }

    [Test]
    public void SecondInstanceOnTheSameFile_FailsWithAHelpfulMessage()
    {
        var ex = Assert.Throws<IOException>(() => Open(_path));
        Assert.That(ex!.Message, Does.Contain(_path).And.Contain("another process"));
    }

    [Test]
    public void CorruptFile_FailsWithAHelpfulMessage()
    {
        var bad = _dir.File("bad.db");
        File.WriteAllBytes(bad, Enumerable.Repeat((byte)0x5A, 8192 * 2).ToArray());
        var ex = Assert.Catch(() => Open(bad));
        Assert.That(ex!.Message, Does.Contain(bad).And.Contain("move"));
    }

    [Test]
    public void ConcurrentWriters_AreSerialised()
    {
        var headers = Enumerable.Range(0, 4).Select(_ => OpenOneToOne()).ToList();
        Parallel.ForEach(headers, h =>
        {
            for (var i = 0; i < 10; i++)
                _spool.Append([new SpoolAppend(h.Id, Events.Chat("a@example.test/r", "b@example.test", $"{i}", Events.T0.AddSeconds(i)))]);
        });
        foreach (var h in headers)
            Assert.That(_spool.Load(h.Id)!.Events.Select(e => e.Text), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"{i}")));
    }
}
