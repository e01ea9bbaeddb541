using ImLogger.Conversations;
using ImLogger.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImLogger.Tests.Spool;

/// <summary>A retried append (after a write whose commit landed but whose checkpoint failed) stores nothing twice.</summary>
public class SpoolIdempotencyTests : TempDirFixture
{
    private static ConversationEvent Event(string id, string text) => new()
    {
        Id = id, ReceivedUtc = DateTimeOffset.UnixEpoch.AddSeconds(text.Length), Kind = EventKind.Message, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        From = "alice@example.test/l", To = "bob@example.test", Text = text, LoggedUsers = ["alice@example.test"], RawXml = "<m/>",
    };

    [Test]
    public void TheSameEventsAppendedTwiceAreStoredOnce()
    {
        using var spool = new LiteDbSpool(Path.Combine(Dir, "spool.db"), NullLogger<LiteDbSpool>.Instance);
        var t = spool.OpenTranscript(ConversationType.OneToOne, "alice@example.test bob@example.test", DateTimeOffset.UnixEpoch, ["a"]);
        var first = new[] { new SpoolAppend(t.Id, Event("e1", "one")), new SpoolAppend(t.Id, Event("e2", "two")) };
        spool.Append(first);
        spool.Append([.. first, new SpoolAppend(t.Id, Event("e3", "three"))]);
        var loaded = spool.Load(t.Id)!;
        Assert.That(loaded.Events.Select(e => e.Text), Is.EqualTo(new[] { "one", "two", "three" }));
        Assert.That(spool.OpenTranscripts().Single().EventCount, Is.EqualTo(3));
    }
}
