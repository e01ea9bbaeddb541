using ImLogger.Conversations;

namespace ImLogger.Tests.Conversations;

public class TranscriptTests
{
    private static ConversationEvent Event(EventKind kind, string from, string to) => new()
    {
        Id = Guid.NewGuid().ToString("N"), ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = kind, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        From = from, To = to, Text = "x", LoggedUsers = ["alice@example.test"], RawXml = "<m/>",
    };

    [Test]
    public void ParticipantsAreThePartiesNotTheComponentOrNoticeRecipientLists()
    {
        var t = new Transcript
        {
            Id = "t", ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
            OpenedUtc = DateTimeOffset.UnixEpoch, ClosedUtc = DateTimeOffset.UnixEpoch,
            Events =
            [
                Event(EventKind.Message, "alice@example.test/laptop", "bob@example.test"),
                Event(EventKind.Notice, "archive.example.test", "alice@example.test, bob@example.test"),
            ],
        };
        Assert.That(t.Participants, Is.EqualTo(new[] { "alice@example.test", "bob@example.test" }));
    }
}
