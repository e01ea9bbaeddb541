using ImLogger.Conversations;
using ImLogger.Domain;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>The per-user day counters behind <c>imlogger report</c>: written with the events, kept after delivery.</summary>
public class SpoolActivityTests : TempDirFixture
{
    private static ConversationEvent Event(EventKind kind, DateTimeOffset at, params string[] logged) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = at, Kind = kind, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        From = "alice@example.test/a", To = "bob@example.test", LoggedUsers = logged, RawXml = "<message/>",
    };

    [Test]
    public void CapturedAndRefusedAreCountedPerUserAndSurviveDeliveryAndRestart()
    {
        var day1 = new DateTimeOffset(2026, 11, 24, 23, 59, 0, TimeSpan.Zero);
        var day2 = new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);
        var path = Path.Combine(Dir, "spool.db");
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var t = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", day1, ["local"]);
            spool.Append([
                new SpoolAppend(t.Id, Event(EventKind.Message, day1, "alice@example.test", "bob@example.test")),
                new SpoolAppend(t.Id, Event(EventKind.Notice, day1, "alice@example.test")),
                // An event built before the rule had its own field (a request answered by the previous version, read back from
                // the spool): its rule is read from the reason.
                new SpoolAppend(t.Id, Event(EventKind.Refused, day2, "alice@example.test") with { Reason = "unapproved-client: Gajim 1.7 is not approved" }),
            ]);
            spool.Append([new SpoolAppend(t.Id, Event(EventKind.Message, day2, "alice@example.test"))]);
            spool.Close(t.Id, day2);
            spool.MarkDelivered(t.Id, "local");
            Assert.That(spool.Load(t.Id), Is.Null, "the transcript is gone once delivered");
        }
        using (var reopened = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var all = reopened.Activity(DateTimeOffset.MinValue);
            Assert.That(all.Select(a => (a.User, a.Captured, a.Refused, a.LastActivityUtc)), Is.EqualTo(new[]
            {
                ("alice@example.test", 2L, 1L, day2),
                ("bob@example.test", 1L, 0L, day1),
            }));
            Assert.That(all[0].RefusedBy, Is.EquivalentTo(new Dictionary<RefusalRule, long> { [RefusalRule.UnapprovedClient] = 1 }));
            var sinceDay2 = reopened.Activity(day2).Single();
            Assert.That((sinceDay2.User, sinceDay2.Captured, sinceDay2.Refused), Is.EqualTo(("alice@example.test", 1L, 1L)), "since day 2 only");
        }
    }

    [Test]
    public void SeenUsersKeepTheirOrderAcrossRestartsAndAreRecordedOnce()
    {
        var path = Path.Combine(Dir, "seen.db");
        var t0 = new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
        using (var spool = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            Assert.That(spool.SeenUsers(), Is.Empty);
            spool.AddSeenUser(new ImLogger.Seats.SeenUser("zed@example.test", t0));
            spool.AddSeenUser(new ImLogger.Seats.SeenUser("amy@example.test", t0.AddMinutes(1)));
            spool.AddSeenUser(new ImLogger.Seats.SeenUser("zed@example.test", t0.AddMinutes(2)));
        }
        using (var reopened = new LiteDbSpool(path, NullLogger<LiteDbSpool>.Instance))
        {
            var seen = reopened.SeenUsers();
            Assert.That(seen.Select(u => u.Jid), Is.EqualTo(new[] { "zed@example.test", "amy@example.test" }), "order of first sight, not alphabetical");
            Assert.That(seen[0].FirstSeenUtc, Is.EqualTo(t0), "the first sighting is kept");
        }
    }

    [Test]
    public void AUserWhoseOwnLastStanzaWasRefusedIsBlockedUntilOneGetsThrough()
    {
        var t0 = new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
        using var spool = new LiteDbSpool(Path.Combine(Dir, "blocked.db"), NullLogger<LiteDbSpool>.Instance);
        var t = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", t0, ["local"]);
        ConversationEvent From(string sender, EventKind kind, DateTimeOffset at) =>
            Event(kind, at, "alice@example.test") with
            {
                SenderBareJid = sender,
                Rule = kind == EventKind.Refused ? RefusalRule.UnapprovedClient : null,
                Reason = kind == EventKind.Refused ? "Gajim 1.7 is not approved" : null,
            };

        spool.Append([new SpoolAppend(t.Id, From("alice@example.test", EventKind.Message, t0))]);
        spool.Append([new SpoolAppend(t.Id, From("alice@example.test", EventKind.Refused, t0.AddMinutes(1)))]);
        spool.Append([new SpoolAppend(t.Id, From("bob@example.test", EventKind.Message, t0.AddMinutes(2)))]);
        var alice = spool.Activity(t0).Single();
        Assert.That(alice.BlockedBy, Is.EqualTo(RefusalRule.UnapprovedClient), "bob's message to her does not unblock what she sends");
        Assert.That(alice.LastRefusal!.Value.AtUtc, Is.EqualTo(t0.AddMinutes(1)));

        spool.Append([new SpoolAppend(t.Id, From("alice@example.test", EventKind.Message, t0.AddMinutes(3)))]);
        Assert.That(spool.Activity(t0).Single().BlockedBy, Is.Null, "her own stanza got through again");
    }
}
