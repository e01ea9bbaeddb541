using ImLogger.Conversations;
using ImLogger.Spool;

namespace ImLogger.Tests.Spool.Ports;

/// <summary><see cref="IActivityLog"/> alone, on a real LiteDB file: per logged user and UTC day, what was captured and
/// refused, counted as events are appended and kept after their transcripts are delivered and across a restart.</summary>
[TestFixture]
public sealed class ActivityLogPortTests : SpoolPortFixture
{
    private static ConversationEvent Event(EventKind kind, DateTimeOffset at, string sender, params string[] logged) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = at, Kind = kind, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = Key, From = sender + "/a", To = "bob@example.test",
        SenderBareJid = sender, LoggedUsers = logged, RawXml = "<message/>",
    };

    [Test]
    public void EachLoggedUsersDaysAreCountedAndOutliveDelivery()
    {
        var day1 = new DateTimeOffset(2026, 11, 24, 23, 59, 0, TimeSpan.Zero);
        var day2 = day1.AddMinutes(2); // just past midnight UTC: another day
        var spool = Open<ISpool>();
        var t = spool.OpenTranscript(ConversationType.OneToOne, Key, day1, ["dir"]);
        spool.Append([
            new SpoolAppend(t.Id, Event(EventKind.Message, day1, "alice@example.test", "alice@example.test", "bob@example.test")),
            new SpoolAppend(t.Id, Event(EventKind.Notice, day1, "alice@example.test", "alice@example.test")), // ImLogger's own notice
            new SpoolAppend(t.Id, Event(EventKind.Refused, day2, "alice@example.test", "alice@example.test")),
        ]);
        spool.Append([new SpoolAppend(t.Id, Event(EventKind.Message, day2.AddMinutes(1), "bob@example.test", "alice@example.test", "bob@example.test"))]);
        spool.Close(t.Id, day2.AddMinutes(5));
        spool.MarkDelivered(t.Id, "dir");

        var log = Reopen<IActivityLog>();
        var all = log.Activity(DateTimeOffset.MinValue);
        Assert.That(all.Select(a => (a.User, a.Captured, a.Refused, a.LastActivityUtc)), Is.EqualTo(new[]
        {
            ("alice@example.test", 2L, 1L, day2.AddMinutes(1)),
            ("bob@example.test", 2L, 0L, day2.AddMinutes(1)),
        }), "users in order; notices are not the user's activity");
        Assert.That(all.Select(a => a.LastCapturedUtc), Is.EqualTo(new DateTimeOffset?[] { day1, day2.AddMinutes(1) }),
            "the last captured stanza each user sent");
        Assert.That(log.Activity(day2).Select(a => (a.User, a.Captured, a.Refused)),
            Is.EqualTo(new[] { ("alice@example.test", 1L, 1L), ("bob@example.test", 1L, 0L) }), "from day 2's start on");
        Assert.That(log.Activity(day2.AddDays(1)), Is.Empty);
    }

    [Test]
    public void AnAppendThatFailsCountsNothing()
    {
        var store = Open<ITranscriptStore>();
        var t = store.OpenTranscript(ConversationType.OneToOne, Key, T0, ["dir"]);
        Assert.Throws<InvalidOperationException>(() => store.Append([
            new SpoolAppend(t.Id, Event(EventKind.Message, T0, "alice@example.test", "alice@example.test")),
            new SpoolAppend("no-such-transcript", Event(EventKind.Message, T0, "alice@example.test", "alice@example.test")),
        ]));
        Assert.That(((IActivityLog)store).Activity(DateTimeOffset.MinValue), Is.Empty, "counted in the append's own transaction");
    }
}
