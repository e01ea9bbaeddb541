using ImLogger.Classifier;
using ImLogger.Conversations;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Classifier;

public class CopyDeduplicatorTests
{
    private static ConversationEvent Message(string? id, string text, string from = "alice@example.test/l", ConversationType type = ConversationType.OneToOne) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        ReceivedUtc = DateTimeOffset.UnixEpoch,
        Kind = EventKind.Message,
        Direction = Direction.Outgoing,
        ConversationType = type,
        ConversationKey = type == ConversationType.OneToOne ? "alice@example.test bob@example.test" : "room@conference.example.test",
        From = from,
        To = "bob@example.test",
        StanzaId = id,
        Text = text,
        LoggedUsers = ["alice@example.test"],
        RawXml = "<message/>",
    };

    [Test]
    public void SecondCopyWithinTheWindowIsARepeat()
    {
        var time = new FakeTimeProvider();
        var dedup = new CopyDeduplicator(TimeSpan.FromSeconds(60), time);
        Assert.That(dedup.IsRepeat(Message("m1", "hi")), Is.False);
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.That(dedup.IsRepeat(Message("m1", "hi")), Is.True);
        Assert.That(dedup.IsRepeat(Message("m2", "hi")), Is.False, "another id is another message");
        Assert.That(dedup.IsRepeat(Message("m1", "edited")), Is.False, "other content is another message");
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.That(dedup.IsRepeat(Message("m1", "hi")), Is.False, "after the window it counts again");
    }

    [Test]
    public void GroupChatReflectionMatchesTheSendersCopy()
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromSeconds(60), new FakeTimeProvider());
        Assert.That(dedup.IsRepeat(Message("g1", "hello room", "alice@example.test/l", ConversationType.GroupChat)), Is.False);
        Assert.That(dedup.IsRepeat(Message("g1", "hello room", "room@conference.example.test/alice", ConversationType.GroupChat)), Is.True);
    }

    [Test]
    public void MessagesWithoutIdAreMatchedOnlyForAShortWhile()
    {
        var time = new FakeTimeProvider();
        var dedup = new CopyDeduplicator(TimeSpan.FromSeconds(60), time);
        Assert.That(dedup.IsRepeat(Message(null, "ok")), Is.False);
        Assert.That(dedup.IsRepeat(Message(null, "ok")), Is.True);
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(dedup.IsRepeat(Message(null, "ok")), Is.False, "the same short reply typed again later is kept");
    }

    [Test]
    public void MemoryIsBounded()
    {
        var dedup = new CopyDeduplicator(TimeSpan.FromHours(1), new FakeTimeProvider(), maxEntries: 100);
        for (var i = 0; i < 1000; i++) dedup.IsRepeat(Message($"m{i}", "x"));
        Assert.That(dedup.IsRepeat(Message("m0", "x")), Is.False, "the oldest entries were evicted");
    }
}
