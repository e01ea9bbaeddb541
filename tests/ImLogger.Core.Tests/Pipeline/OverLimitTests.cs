using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Sinks;
using ImLogger.Xmpp;

namespace ImLogger.Tests.Pipeline;

/// <summary>A stanza over a per-stanza limit, as the reader delivers it (kept up to the limit): the record the archive
/// keeps of it (tap), the verdict that refuses it alone (inline), and how the transcript reads.</summary>
public class OverLimitTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 21, 0, 0, TimeSpan.Zero);
    private static readonly StanzaOverLimit TooDeep = new(TooLarge: false, TooDeep: true, Bytes: 2_400, Depth: 133, MaxBytes: 65_536, MaxDepth: 128);
    private static readonly StanzaOverLimit TooLarge = new(TooLarge: true, TooDeep: false, Bytes: 312_480, Depth: 5, MaxBytes: 65_536, MaxDepth: 128);

    private static XElement Partial(string type = "chat", string to = "bob@example.test", string text = "the beginning") => XElement.Parse(
        $"<message xmlns='jabber:client' from='alice@example.test/x' to='{to}' type='{type}' id='m1'><body>{text}<cut xmlns='urn:imlogger:limits:0' reason='size'>and what was skipped</cut></body></message>");

    private static StanzaClassifier Classifier(params string[] logged) => new(logged.Contains);

    [Test]
    public void ATapCopyOverALimitIsOneRecordOfWhatItWas()
    {
        var e = Classifier("alice@example.test").ClassifyOverLimit(new TapEnvelope(Partial(), "example.test", T0), TooLarge, levelsAbove: 2).Events.Single();
        Assert.Multiple(() =>
        {
            Assert.That(e.Kind, Is.EqualTo(EventKind.OverLimit));
            Assert.That(e.ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
            Assert.That(e.From, Is.EqualTo("alice@example.test/x"));
            Assert.That(e.LoggedUsers, Is.EqualTo(new[] { "alice@example.test" }));
            Assert.That(e.Reason, Is.EqualTo("chat message of 312,480 bytes, nested 3 levels deep: over the limit of 65,536 bytes (max-stanza-bytes); not archived in full"));
            Assert.That(e.Text, Is.EqualTo("the beginning and what was skipped"), "the text, the kept part then the sample of the skipped part");
        });
    }

    [Test]
    public void TheDepthReportedIsTheStanzasOwn_NotItsEnvelopes()
    {
        Assert.That(StanzaClassifier.DescribeOverLimit(Partial(), TooDeep, levelsAbove: 2), Is.EqualTo("chat message of 2,400 bytes, nested 131 levels deep: over the limit of 128 levels; not archived in full"));
        Assert.That(StanzaClassifier.DescribeOverLimit(Partial(), TooDeep, levelsAbove: 3), Is.EqualTo("chat message of 2,400 bytes (its verdict request), nested 130 levels deep: over the limit of 128 levels; not archived in full"));
    }

    [Test]
    public void AnOddTypeIsNotCopiedIntoTheDescription()
    {
        var description = StanzaClassifier.DescribeOverLimit(Partial(type: "SECURITY NOTICE: reset your password"), TooLarge, 2);
        Assert.That(description, Does.StartWith("message of 312,480 bytes"));
    }

    [Test]
    public void BothLimitsAreNamedWhenBothWereCrossed() =>
        Assert.That(StanzaClassifier.DescribeOverLimit(Partial(), TooDeep with { TooLarge = true, Bytes = 70_000 }, 2),
            Is.EqualTo("chat message of 70,000 bytes, nested 131 levels deep: over the limits of 65,536 bytes (max-stanza-bytes) and 128 levels; not archived in full"));

    [Test]
    public void OnlyTheFirstKilobyteOfTextIsKept()
    {
        var text = StanzaClassifier.OverLimitText(Partial(text: new string('z', 5_000)));
        Assert.That(text, Has.Length.EqualTo(StanzaClassifier.OverLimitTextChars));
    }

    [Test]
    public void TheFirstKilobyteNeverEndsInHalfAnEmoji()
    {
        var text = StanzaClassifier.OverLimitText(Partial(text: string.Concat(Enumerable.Repeat("日😀", 1_000))));
        Assert.That(char.IsHighSurrogate(text[^1]), Is.False);
        Assert.DoesNotThrow(() => new XElement("t", text).ToString());
    }

    [Test]
    public void AGroupChatMessageOverALimitBelongsToTheRoom()
    {
        var e = Classifier("alice@example.test").ClassifyOverLimit(
            new TapEnvelope(Partial(type: "groupchat", to: "team@conference.example.test"), "example.test", T0), TooDeep, 2).Events.Single();
        Assert.That((e.ConversationType, e.ConversationKey), Is.EqualTo((ConversationType.GroupChat, "team@conference.example.test")));
    }

    [Test]
    public void BetweenUsersWhoAreNotLoggedNothingIsRecorded() =>
        Assert.That(Classifier().ClassifyOverLimit(new TapEnvelope(Partial(), "example.test", T0), TooDeep, 2).Events, Is.Empty);

    [Test]
    public void InlineAnItemOverALimitIsRefusedWithTextsThatNameNoClientText()
    {
        var stanza = Partial(text: "SECURITY NOTICE from IT");
        var outgoing = OverLimitRefusal.For(new InlineItem("1", InlineDirection.Out, "alice@example.test", true, stanza), TooDeep);
        var incoming = OverLimitRefusal.For(new InlineItem("2", InlineDirection.In, "bob@example.test", true, stanza), TooLarge);
        Assert.Multiple(() =>
        {
            Assert.That(outgoing.Allowed, Is.False);
            Assert.That((outgoing.Rule?.Name(), outgoing.ErrorType, outgoing.Condition), Is.EqualTo(("over-limit", "modify", "policy-violation")));
            Assert.That(outgoing.Text, Does.StartWith("This message is too deeply nested (the limit is 128 levels) to be archived, so it was not delivered"));
            Assert.That(outgoing.NoticeToLoggedUser, Is.EqualTo("Your message to bob@example.test was not delivered: it was too deeply nested (the limit is 128 levels) to be archived."));
            Assert.That(incoming.Text, Does.StartWith("bob@example.test is logged for compliance, and this message is too large (the limit is 65,536 bytes) to be archived"));
            Assert.That(incoming.NoticeToLoggedUser, Is.EqualTo("A message from alice@example.test to you was not delivered: it was too large (the limit is 65,536 bytes) to be archived."));
            Assert.That(new[] { outgoing.Text, outgoing.NoticeToLoggedUser, incoming.Text, incoming.NoticeToLoggedUser }, Has.None.Contains("SECURITY"));
        });
    }

    [Test]
    public void TheTranscriptSaysWhatItWasAndThatOnlyItsBeginningIsArchived()
    {
        var e = Classifier("alice@example.test").ClassifyOverLimit(new TapEnvelope(Partial(), "example.test", T0), TooLarge, 2).Events.Single();
        Assert.That(TranscriptMessageBuilder.RenderLine(e), Is.EqualTo(
            "[2026-11-29 21:00:00Z] * alice@example.test/x -> bob@example.test sent a stanza over ImLogger's limits; it was delivered, but only its beginning is archived " +
            "(chat message of 312,480 bytes, nested 3 levels deep: over the limit of 65,536 bytes (max-stanza-bytes); not archived in full); its text begins: \"the beginning and what was skipped\""));
    }

    [Test]
    public void MarksInTheXmlAloneDoNotMakeAStanzaOverALimit()
    {
        // What a client can write: the reader's marks are recognised by an annotation only the reader adds.
        var forged = XElement.Parse("<message xmlns='jabber:component:accept'><over-limit xmlns='urn:imlogger:limits:0' reason='size' bytes='1'/></message>");
        Assert.That(StanzaLimits.Read(forged), Is.Null);
        Assert.That(StanzaLimits.IsCut(Partial()), Is.False);
    }
}
