using ImLogger.Conversations;
using ImLogger.Sinks;

namespace ImLogger.Tests.Sinks;

/// <summary>What a transcript says about its notices (issues 17 and 19): sent only when it went out, otherwise why not;
/// bounced with the server's condition; the notice text written once per transcript.</summary>
public sealed class NoticeRenderingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);
    private const string Text = "This conversation is logged.\nAcme Corp. archives it.\nSee the policy.";

    private static ConversationEvent Event(EventKind kind, int seconds, string to, string? text = null, string? reason = null, string? related = null,
        string from = "archive.example.test", string? id = null) => new()
    {
        Id = id ?? Guid.NewGuid().ToString("N"), ReceivedUtc = T0.AddSeconds(seconds), Kind = kind, Direction = Direction.Outgoing,
        ConversationType = ConversationType.OneToOne, ConversationKey = "alice@example.test bob@partner.test", From = from, To = to,
        SenderBareJid = kind == EventKind.Message ? "alice@example.test" : null, Text = text, Reason = reason, RelatedId = related,
        LoggedUsers = ["alice@example.test"], RawXml = "",
    };

    private static Transcript Of(params ConversationEvent[] events) => new()
    {
        Id = "0123456789abcdef0123456789abcdef", ConversationType = ConversationType.OneToOne,
        ConversationKey = "alice@example.test bob@partner.test", OpenedUtc = T0, ClosedUtc = T0.AddMinutes(10), Events = events,
    };

    private static string TextBody(Transcript t) => new TranscriptMessageBuilder("imlogger@archive.example.test").Build(t).TextBody!.ReplaceLineEndings("\n");
    private static string HtmlBody(Transcript t) => new TranscriptMessageBuilder("imlogger@archive.example.test").Build(t).HtmlBody!;

    [Test]
    public void ANoticeThatDidNotGoOutSaysSoAndWhy_OnItsOwnLine()
    {
        var notice = Event(EventKind.Notice, 1, "alice@example.test, bob@partner.test", Text, NoticeOutcome.Decided);
        var t = Of(Event(EventKind.Message, 0, "bob@partner.test", "hi", from: "alice@example.test/laptop"), notice,
            Event(EventKind.Notice, 1, "alice@example.test", reason: NoticeOutcome.Sent, related: notice.Id),
            Event(EventKind.Notice, 1, "bob@partner.test", reason: "not sent: not connected to the server", related: notice.Id));
        var body = TextBody(t);
        Assert.Multiple(() =>
        {
            Assert.That(body, Does.Contain("[2026-11-25 14:02:12Z] [notice to alice@example.test; notice NOT SENT to bob@partner.test: not connected to the server] This conversation is logged."));
            Assert.That(body.Split('\n').Count(l => l.Contains("[notice", StringComparison.Ordinal) || l.Contains("notice ", StringComparison.Ordinal)), Is.EqualTo(1),
                "the outcomes are said on the notice's line, not on lines of their own");
            Assert.That(HtmlBody(t), Does.Contain("notice NOT SENT to bob@partner.test: not connected to the server"));
        });
    }

    [Test]
    public void ANoticeWithoutAnyOutcomeIsNotClaimedSent()
    {
        var body = TextBody(Of(Event(EventKind.Notice, 1, "alice@example.test, bob@partner.test", Text, NoticeOutcome.Decided)));
        Assert.That(body, Does.Contain("[notice for alice@example.test, bob@partner.test: NOT CONFIRMED SENT"));
    }

    [Test]
    public void ABouncedNoticeCarriesTheServersCondition_EvenFromAnotherTranscript()
    {
        var notice = Event(EventKind.Notice, 1, "room@conference.example.test/bob (bob@partner.test)", Text, NoticeOutcome.Decided);
        var bounced = Event(EventKind.Notice, 3, "room@conference.example.test/bob (bob@partner.test)", reason: "bounced: cancel/item-not-found", related: notice.Id);
        Assert.Multiple(() =>
        {
            Assert.That(TextBody(Of(notice, Event(EventKind.Notice, 1, notice.To, reason: NoticeOutcome.Sent, related: notice.Id), bounced)),
                Does.Contain("[notice to room@conference.example.test/bob (bob@partner.test); BOUNCED by the server for room@conference.example.test/bob (bob@partner.test): cancel/item-not-found]"));
            Assert.That(TextBody(Of(bounced)), Does.Contain("[2026-11-25 14:02:14Z] [an earlier notice to room@conference.example.test/bob (bob@partner.test) was BOUNCED by the server: cancel/item-not-found]"),
                "the bounce of a notice delivered in an earlier transcript still says what it is");
        });
    }

    [Test]
    public void TheNoticeTextIsWrittenOncePerTranscript_LaterRoundsNameTheirRecipients()
    {
        var first = Event(EventKind.Notice, 1, "alice@example.test, bob@partner.test", Text, NoticeOutcome.Decided);
        var second = Event(EventKind.Notice, 60, "carol@partner.test", Text, NoticeOutcome.Decided);
        var t = Of(first, Event(EventKind.Notice, 1, first.To, reason: NoticeOutcome.Sent, related: first.Id),
            second, Event(EventKind.Notice, 60, second.To, reason: NoticeOutcome.Sent, related: second.Id));
        var body = TextBody(t);
        Assert.Multiple(() =>
        {
            Assert.That(body.Split("Acme Corp. archives it.").Length - 1, Is.EqualTo(1), "the legal text once");
            Assert.That(body, Does.Contain("[notice to carol@partner.test] (the notice text above)"));
            Assert.That(HtmlBody(t).Split("Acme Corp. archives it.").Length - 1, Is.EqualTo(1), "once in the HTML part too");
        });
    }

    [Test]
    public void ANoticeFromAnOlderSpoolReadsAsBefore()
    {
        Assert.That(TextBody(Of(Event(EventKind.Notice, 1, "alice@example.test", "logged"))), Does.Contain("[2026-11-25 14:02:12Z] [notice to alice@example.test] logged"));
    }

    [Test]
    public void HostileRecipientsAndReasonsStayOnOneLineAndEscaped()
    {
        var notice = Event(EventKind.Notice, 1, "a@x", Text, NoticeOutcome.Decided);
        var t = Of(notice, Event(EventKind.Notice, 2, "<script>x</script>\r\nBcc: victim@x", reason: "not sent: \r\nX-Injected: 1<b>", related: notice.Id));
        Assert.Multiple(() =>
        {
            Assert.That(TextBody(t), Does.Not.Contain("\nBcc:").And.Not.Contain("\nX-Injected"));
            Assert.That(HtmlBody(t), Does.Not.Contain("<script>").And.Not.Contain("<b>"));
        });
    }
}
