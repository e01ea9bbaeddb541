using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Sinks;
using Moq;

namespace ImLogger.Tests.Sinks;

/// <summary>Transcripts show the organization's local time beside UTC when it configures a time zone.</summary>
public class LocalTimeTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private static Transcript Chat(params string[] logged) => new()
    {
        Id = "t1", ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
        OpenedUtc = new DateTimeOffset(2026, 11, 25, 8, 52, 21, TimeSpan.Zero), ClosedUtc = new DateTimeOffset(2026, 11, 25, 9, 5, 0, TimeSpan.Zero),
        Events = [new ConversationEvent
        {
            Id = "e1", ReceivedUtc = new DateTimeOffset(2026, 11, 25, 8, 52, 21, TimeSpan.Zero), Kind = EventKind.Message,
            Direction = Direction.Outgoing, ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@example.test",
            From = "alice@example.test/laptop", To = "bob@example.test", Text = "hello", LoggedUsers = logged, RawXml = "<m/>",
        }],
    };

    [Test]
    public void LinesAndHeaderShowLocalTimeBesideUtc()
    {
        var message = new TranscriptMessageBuilder("imlogger@archive.example.test").Build(Chat("alice@example.test") with { LocalTimeZone = Berlin });
        Assert.That(message.TextBody, Does.Contain("[2026-11-25 08:52:21Z / 09:52:21 local] alice@example.test/laptop -> bob@example.test: hello"));
        Assert.That(message.TextBody, Does.Contain("all times UTC; local = Europe/Berlin (UTC+01:00 at the start)"));
        Assert.That(message.HtmlBody, Does.Contain("Time (UTC / local)"));
    }

    [Test]
    public void WithoutAZoneTimesStayUtcOnly()
    {
        var text = new TranscriptMessageBuilder("imlogger@archive.example.test").Build(Chat("alice@example.test")).TextBody;
        Assert.That(text, Does.Contain("[2026-11-25 08:52:21Z] alice").And.Contain("(all times UTC)").And.Not.Contain("local"));
    }

    [Test]
    public void TheSinkGivesTheTranscriptItsOrganizationsZoneOnlyWhenTheyAgree()
    {
        var zones = new Dictionary<string, TimeZoneInfo?> { ["alice@example.test"] = Berlin, ["bob@example.test"] = Berlin, ["erin@partner.test"] = TimeZoneInfo.Utc };
        Assert.That(LocalTimeSink.ZoneOf(Chat("alice@example.test", "bob@example.test"), j => zones[j]), Is.EqualTo(Berlin));
        Assert.That(LocalTimeSink.ZoneOf(Chat("alice@example.test", "erin@partner.test"), j => zones[j]), Is.Null);

        Transcript? delivered = null;
        var inner = new Mock<ITranscriptSink>();
        inner.SetupGet(s => s.Name).Returns("local");
        inner.Setup(s => s.DeliverAsync(It.IsAny<Transcript>(), It.IsAny<CancellationToken>()))
            .Callback((Transcript t, CancellationToken _) => delivered = t).ReturnsAsync("ok");
        var sink = new LocalTimeSink(inner.Object, t => LocalTimeSink.ZoneOf(t, j => zones[j]));
        sink.DeliverAsync(Chat("alice@example.test"), CancellationToken.None).GetAwaiter().GetResult();
        Assert.That(sink.Name, Is.EqualTo("local"));
        Assert.That(delivered!.LocalTimeZone, Is.EqualTo(Berlin));
    }
}
