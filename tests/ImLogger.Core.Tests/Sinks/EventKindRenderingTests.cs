using ImLogger.Conversations;
using ImLogger.Sinks;

namespace ImLogger.Tests.Sinks;

/// <summary>Every event kind renders as something that says what happened. The build already refuses a kind without a
/// sentence or shape (switch expressions without a discard arm, CS8509); this checks what each arm says.</summary>
public class EventKindRenderingTests
{
    private static ConversationEvent Event(EventKind kind) => new()
    {
        Id = "e1", ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = kind, Direction = Direction.Outgoing,
        ConversationType = ConversationType.GroupChat, ConversationKey = "room@muc.example.test",
        From = "room@muc.example.test/bob", To = "alice@example.test/laptop", Nick = "bob", Text = "some text",
        LoggedUsers = ["alice@example.test"], RawXml = "<message/>", RelatedId = "m0", StatusCodes = [],
    };

    private static IEnumerable<EventKind> Kinds() => Enum.GetValues<EventKind>();

    [TestCaseSource(nameof(Kinds))]
    public void EachKind_RendersMoreThanTheActor(EventKind kind)
    {
        var line = TranscriptMessageBuilder.RenderLine(Event(kind));
        var afterTime = line[(line.IndexOf("] ", StringComparison.Ordinal) + 2)..];
        Assert.Multiple(() =>
        {
            Assert.That(afterTime.TrimEnd(), Is.Not.EqualTo("* bob").And.Not.EqualTo("bob").And.Not.Empty, line);
            Assert.That(afterTime.Trim().Split(' ').Length, Is.GreaterThanOrEqualTo(3), $"{kind} says what happened: {line}");
            var shape = TranscriptMessageBuilder.ShapeOf(kind);
            Assert.That(TranscriptMessageBuilder.EventSentence(Event(kind), TranscriptMessageBuilder.MessageIndex.Empty) is null,
                Is.EqualTo(shape != EventShape.Sentence), $"{kind}: a sentence exactly when its shape is Sentence");
        });
    }
}
