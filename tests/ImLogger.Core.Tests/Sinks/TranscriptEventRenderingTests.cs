using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Sinks;
using ImLogger.Tests.Classifier;
using ImLogger.Tests.DeliveryTestSupport;

namespace ImLogger.Tests.Sinks;

/// <summary>Each event kind, classified from its fixture, reads as docs/events.md says, in the text and the HTML part.</summary>
public sealed class TranscriptEventRenderingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);

    /// <summary>The events of the fixtures, in order, as one one-to-one conversation of alice (logged) and bob.</summary>
    private static Transcript OneToOne(params (string Fixture, int Seconds)[] fixtures)
    {
        var classifier = new StanzaClassifier(new[] { "alice@example.test" }.Contains);
        var events = new List<ConversationEvent>();
        var at = T0;
        foreach (var (fixture, seconds) in fixtures)
            foreach (var stanza in Recordings.Stanzas($"events.{fixture}.xml"))
            {
                events.AddRange(classifier.Classify(new TapEnvelope(stanza, "example.test", at)).Events);
                at = at.AddSeconds(seconds);
            }
        return new Transcript
        {
            Id = "0123456789abcdef0123456789abcdef",
            ConversationType = ConversationType.OneToOne,
            ConversationKey = "alice@example.test bob@example.test",
            OpenedUtc = T0,
            ClosedUtc = at,
            Events = events,
        };
    }

    private static string[] Lines(Transcript t) =>
        new TranscriptMessageBuilder("imlogger@archive.example.test").Build(t).TextBody!.ReplaceLineEndings("\n")
            .Split('\n').Where(l => l.StartsWith('[')).ToArray();

    [Test]
    public void CallsReadAsStartedAcceptedAndEndedWithDuration()
    {
        var lines = Lines(OneToOne(("jingle-video-call", 724)));
        Assert.That(lines, Is.EqualTo(new[]
        {
            "[2026-11-25 14:02:11Z] * bob@example.test/phone started a video call with alice@example.test [session c1025763497]",
            "[2026-11-25 14:14:15Z] * alice@example.test/laptop accepted the video call [session c1025763497]",
            "[2026-11-25 14:26:19Z] * alice@example.test/laptop ended the video call (success) after 12 min 4 s [session c1025763497]",
        }));
    }

    [Test]
    public void EveryOneToOneKindHasItsSentence()
    {
        var text = string.Join("\n", Lines(OneToOne(
            ("invitation-direct", 1), ("correction", 1), ("reaction", 1), ("retraction", 1), ("file-link", 1), ("file-metadata", 1),
            ("file-si-offer", 1), ("file-si-accept-and-close", 1), ("jingle-file-transfer", 1), ("jmi-propose", 1), ("jmi-retract", 1),
            ("jingle-audio-call", 1), ("desktop-share", 1), ("phone-call", 1), ("meeting-invite", 1), ("audio-conference", 1),
            ("encrypted-omemo", 1), ("unclassified", 1))));
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("* alice@example.test invited bob@example.test to the group chat lobby@conference.example.test: \"standup in 5\""));
            Assert.That(text, Does.Contain("* alice@example.test/laptop corrected message msg-1 \"see you at 10\" to: see you at 11"));
            Assert.That(text, Does.Contain("* bob@example.test/phone reacted \U0001F44D to message msg-1 \"see you at 10\""));
            Assert.That(text, Does.Contain("* bob@example.test/phone withdrew their reactions to message msg-1 \"see you at 10\""));
            Assert.That(text, Does.Contain("* alice@example.test/laptop retracted message msg-1 \"see you at 10\"; the original stays archived"));
            Assert.That(text, Does.Contain("alice@example.test/laptop -> bob@example.test: see you at 10"), "the original is still there, unchanged");
            Assert.That(text, Does.Contain("* alice@example.test/laptop shared \"report.pdf\" with bob@example.test <https://upload.example.test/f/abc/report.pdf>"));
            Assert.That(text, Does.Contain("shared \"summit.jpg\" (2.9 MB (3,032,449 bytes), image/jpeg) with bob@example.test"));
            Assert.That(text, Does.Contain("* alice@example.test/laptop offered \"report.pdf\" (47.1 KB (48,213 bytes), application/pdf) to bob@example.test [session si-1]"));
            Assert.That(text, Does.Contain("* bob@example.test/phone accepted the transfer of \"report.pdf\""));
            Assert.That(text, Does.Contain("* alice@example.test/laptop ended the transfer of \"report.pdf\" (47.1 KB (48,213 bytes), application/pdf) (completed) after 1 s"));
            Assert.That(text, Does.Contain("offered \"test.txt\" (1,022 bytes, text/plain) to bob@example.test [session 851ba2]"));
            Assert.That(text, Does.Contain("* alice@example.test/laptop started a PC-to-PC (audio) call with bob@example.test [session jmi-1]"));
            Assert.That(text, Does.Contain("* alice@example.test/laptop ended the PC-to-PC (audio) call (retracted), no duration (its acceptance was not seen) [session jmi-1]"));
            Assert.That(text, Does.Contain("started a desktop share with bob@example.test"));
            Assert.That(text, Does.Contain("started a phone call with +553496788901@sip.example.test"));
            Assert.That(text, Does.Contain("* bob@example.test/phone started a meeting with alice@example.test at <https://meet.example.test/standup>"));
            Assert.That(text, Does.Contain("started an audio conference with bob@example.test in darkcave@chat.example.test"));
            Assert.That(text, Does.Contain("bob@example.test/phone -> alice@example.test: [end-to-end encrypted message (OMEMO); the archive cannot read its content]"));
            Assert.That(text, Does.Not.Contain("I sent you an OMEMO encrypted message"), "a fallback body is not what was said");
            Assert.That(text, Does.Contain("sent a stanza the archive has no rule for ({urn:xmpp:attention:0}attention), kept as raw XML: <message"));
        });
    }

    [Test]
    public void RoomEventsReadInTheRoomsTranscript()
    {
        var classifier = new StanzaClassifier(new[] { "alice@example.test" }.Contains);
        var events = new[] { "invitation-mediated", "subject" }
            .SelectMany(f => Recordings.Stanzas($"events.{f}.xml"))
            .SelectMany(s => classifier.Classify(new TapEnvelope(s, "example.test", T0)).Events)
            .Concat(Recordings.Stanzas("events.invitation-declined.xml").SelectMany(s =>
                new StanzaClassifier(new[] { "bob@example.test" }.Contains).Classify(new TapEnvelope(s, "example.test", T0)).Events))
            .ToList();
        var lines = Lines(new Transcript
        {
            Id = "t", ConversationType = ConversationType.GroupChat, ConversationKey = "lobby@conference.example.test",
            OpenedUtc = T0, ClosedUtc = T0, Events = events,
        });
        Assert.That(lines, Is.EqualTo(new[]
        {
            "[2026-11-25 14:02:11Z] * alice@example.test invited bob@example.test to the group chat lobby@conference.example.test: \"join us\"",
            "[2026-11-25 14:02:11Z] * alice@example.test set the room's subject to: Q4 planning",
            "[2026-11-25 14:02:11Z] * bob@example.test declined the invitation of alice@example.test to the group chat lobby@conference.example.test: \"busy\"",
        }));
    }

    [Test]
    public void HtmlPartEncodesEveryEventAndSanitisesTheSendersFormatting()
    {
        var transcript = OneToOne(("unclassified", 1));
        var hostile = Events.Chat("bob@example.test/phone", "alice@example.test", "look",  T0,
            "<body xmlns='http://www.w3.org/1999/xhtml'><p style='color:red;position:fixed'>look <img alt=':-)' src='https://tracker.example/p.png'/> <a href='javascript:alert(1)'>here</a> <a href='https://example.test/ok'>ok</a><script>alert(2)</script></p></body>");
        transcript = transcript with { Events = [.. transcript.Events, hostile] };
        var html = new TranscriptMessageBuilder("imlogger@archive.example.test").Build(transcript).HtmlBody!;
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Contain("&lt;attention xmlns=&quot;urn:xmpp:attention:0&quot; /&gt;"), "raw XML is shown encoded");
            Assert.That(html, Does.Contain("<div class=\"formatted\""));
            Assert.That(html, Does.Contain(":-)"), "the emoticon's text");
            Assert.That(html, Does.Not.Contain("tracker.example"), "no remote image is fetched by the reader's mail client");
            Assert.That(html, Does.Not.Contain("javascript:"));
            Assert.That(html, Does.Not.Contain("<script"));
            Assert.That(html, Does.Not.Contain("position"));
            Assert.That(html, Does.Contain("<p style=\"color: rgba(255, 0, 0, 1)\">look :-) <a>here</a> <a href=\"https://example.test/ok\">ok</a></p>"),
                "colour and the safe link kept, the script link's target dropped, spaces kept");
            Assert.That(html, Does.Contain("href=\"https://example.test/ok\""));
        });
    }

    [Test]
    public void MalformedXhtmlFallsBackToItsTextWithoutMarkup()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TranscriptMessageBuilder.HtmlToText("<p>hello <b>bob</p><script>x</script"), Does.StartWith("hello bob"));
            Assert.That(TranscriptMessageBuilder.SanitizeXhtml("<p onclick='x()'>hi<script>alert(1)</script>"), Is.EqualTo("<p>hi</p>"));
        });
    }

    [Test]
    public void ACorrectionRenderedOnItsOwnNamesTheOriginalByIdOnly()
    {
        // Endpoints that render one line per event (DRC-CM) have no transcript to look the original up in.
        var correction = OneToOne(("correction", 1)).Events[1];
        Assert.That(TranscriptMessageBuilder.RenderLine(correction),
            Is.EqualTo("[2026-11-25 14:02:12Z] * alice@example.test/laptop corrected message msg-1 to: see you at 11"));
    }

    [Test]
    public void ARetractionOfAMessageFromAnEarlierTranscriptSaysSo()
    {
        var lines = Lines(OneToOne(("retraction", 1)));
        Assert.That(lines.Single(), Does.EndWith("* alice@example.test/laptop retracted message msg-1 (not in this transcript); the original stays archived"));
    }

    [TestCase(4, "4 s")]
    [TestCase(724, "12 min 4 s")]
    [TestCase(3603, "1 h 0 min 3 s")]
    public void DurationsReadAsAPersonWouldSayThem(int seconds, string expected) =>
        Assert.That(TranscriptMessageBuilder.DurationText(TimeSpan.FromSeconds(seconds)), Is.EqualTo(expected));
}
