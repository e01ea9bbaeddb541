using ImLogger.Conversations;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>The spool remembers recently appended event ids to skip repeats cheaply; a failed append must not make it
/// skip events that were rolled back.</summary>
public class SpoolAppendRetryTests
{
    private static ConversationEvent Event(string id) => new()
    {
        Id = id, ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = EventKind.Message, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        From = "alice@example.test/l", To = "bob@example.test", Text = id, LoggedUsers = ["alice@example.test"], RawXml = "<m/>",
    };

    [Test]
    public void EventsOfAFailedAppendAreStoredByTheRetryAndRepeatsAfterwardsAreNot()
    {
        var dir = Directory.CreateTempSubdirectory("imlogger-spool-retry-").FullName;
        try
        {
            using var spool = new LiteDbSpool(Path.Combine(dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
            var t = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", DateTimeOffset.UnixEpoch, ["a"]);
            // The second event names a transcript that does not exist: the whole write is rolled back.
            Assert.Throws<InvalidOperationException>(() => spool.Append([new(t.Id, Event("e1")), new("no-such-transcript", Event("e2"))]));
            spool.Append([new(t.Id, Event("e1")), new(t.Id, Event("e2"))]);
            spool.Append([new(t.Id, Event("e2")), new(t.Id, Event("e3"))]);
            Assert.That(spool.Load(t.Id)!.Events.Select(e => e.Text), Is.EqualTo(new[] { "e1", "e2", "e3" }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
