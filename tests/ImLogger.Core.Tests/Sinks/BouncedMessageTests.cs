using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Sinks;

namespace ImLogger.Tests.Sinks;

/// <summary>A message the server bounced reads as bounced, with the server's condition, not as said (issue 19): classified
/// from the stanzas Prosody sends, rendered as the endpoints deliver it.</summary>
public sealed class BouncedMessageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);

    private static List<ConversationEvent> Classify(params string[] stanzas)
    {
        var classifier = new StanzaClassifier(new[] { "alice@example.test" }.Contains);
        var at = T0;
        var events = new List<ConversationEvent>();
        foreach (var xml in stanzas)
        {
            events.AddRange(classifier.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", at)).Events);
            at = at.AddSeconds(1);
        }
        return events;
    }

    private static string Body(List<ConversationEvent> events, string key, ConversationType type) =>
        new TranscriptMessageBuilder("imlogger@archive.example.test").Build(new Transcript
        {
            Id = "0123456789abcdef0123456789abcdef", ConversationType = type, ConversationKey = key, OpenedUtc = T0,
            ClosedUtc = T0.AddMinutes(10), Events = events.Where(e => e.ConversationKey == key).ToList(),
        }).TextBody!;

    private const string ToNobody = "<message xmlns='jabber:client' from='alice@example.test/laptop' to='nobody@example.test' type='chat' id='m1'><body>are you there?</body></message>";

    [Test]
    public void AMessageToAnAccountThatDoesNotExistIsMarkedBounced()
    {
        var events = Classify(ToNobody,
            "<message xmlns='jabber:client' from='nobody@example.test' to='alice@example.test/laptop' type='error' id='m1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        var body = Body(events, "alice@example.test nobody@example.test", ConversationType.OneToOne);
        Assert.Multiple(() =>
        {
            Assert.That(events.Last().Reason, Is.EqualTo("bounced: cancel/service-unavailable"), "a bare condition with an id is kept");
            Assert.That(body, Does.Contain("are you there? [BOUNCED by the server: cancel/service-unavailable; not delivered]"));
        });
    }

    [Test]
    public void AGroupChatMessageToARoomThatIsGoneIsMarkedInTheRoomsTranscript()
    {
        const string room = "board@conference.example.test";
        var events = Classify(
            $"<presence xmlns='jabber:client' from='{room}/alice' to='alice@example.test/laptop'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='alice@example.test/laptop'/><status code='110'/></x></presence>",
            $"<message xmlns='jabber:client' from='alice@example.test/laptop' to='{room}' type='groupchat' id='g1'><body>minutes attached</body></message>",
            $"<message xmlns='jabber:client' from='{room}' to='alice@example.test/laptop' type='error' id='g1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>This room does not exist</text></error></message>");
        var body = Body(events, room, ConversationType.GroupChat);
        Assert.That(body, Does.Contain("minutes attached [BOUNCED by the server: cancel/item-not-found; not delivered]"), body);
    }

    [Test]
    public void AMessageToARoomDestroyedMeanwhileIsMarkedInTheRoomsTranscript()
    {
        // The owner destroyed the room: alice's client got the destroy (she is no longer in it), then wrote to it anyway;
        // the MUC service answers from the room's bare JID, with no text (Prosody 0.12).
        const string room = "board@conference.example.test";
        var events = Classify(
            $"<presence xmlns='jabber:client' from='{room}/alice' to='alice@example.test/laptop'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='alice@example.test/laptop'/><status code='110'/></x></presence>",
            $"<presence xmlns='jabber:client' from='{room}/alice' to='alice@example.test/laptop' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/><destroy/><status code='110'/></x></presence>",
            $"<message xmlns='jabber:client' from='alice@example.test/laptop' to='{room}' type='groupchat' id='g2'><body>anyone here?</body></message>",
            $"<message xmlns='jabber:client' from='{room}' to='alice@example.test/laptop' type='error' id='g2'><error type='cancel' by='conference.example.test'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
            // Another room's error with an id alice never sent there is no bounce of the room's message.
            $"<message xmlns='jabber:client' from='other@conference.example.test' to='alice@example.test/laptop' type='error' id='g2'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        var body = Body(events, room, ConversationType.GroupChat);
        Assert.Multiple(() =>
        {
            Assert.That(body, Does.Contain("anyone here? [BOUNCED by the server: cancel/item-not-found; not delivered]"), body);
            Assert.That(events.Last().ConversationKey, Is.Not.EqualTo(room), "the other room's error stays out of this transcript");
        });
    }

    [Test]
    public void AHugeOrInvisibleConditionIsOneShortPrintableLine()
    {
        var type = "cancel\u202E\u200B" + new string('x', 50_000);
        var events = Classify(ToNobody,
            $"<message xmlns='jabber:client' from='nobody@example.test' to='alice@example.test/laptop' type='error' id='m1'><error type='{type}'><c{new string('o', 3_000)} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        var reason = events.Last().Reason!;
        Assert.Multiple(() =>
        {
            Assert.That(reason, Does.StartWith("bounced: cancel"));
            Assert.That(reason.Length, Is.LessThanOrEqualTo("bounced: ".Length + 200));
            Assert.That(reason.Where(c => char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format), Is.Empty, "no direction override");
        });
    }

    [Test]
    public void AnErrorFromSomeoneElseWithTheSameIdMarksNothing()
    {
        var events = Classify(ToNobody,
            "<message xmlns='jabber:client' from='mallory@example.test' to='alice@example.test/laptop' type='error' id='m1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        Assert.That(Body(events, "alice@example.test nobody@example.test", ConversationType.OneToOne), Does.Not.Contain("BOUNCED"));
    }

    private const string ToBob = "<message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test' type='chat' id='m2'><body>the figures</body></message>";

    [Test]
    public void TheRecipientsOwnClientAnsweringWithAnErrorIsNoBounce()
    {
        // Bob got the message; his client sends an error with its id, claiming in the stanza to be his account (the
        // server stamps his full JID on it, as on every stanza a client sends). A bounce comes from the bare address the
        // message went to, which no client can send from.
        var events = Classify(ToBob,
            "<message xmlns='jabber:client' from='bob@example.test/phone' to='alice@example.test/laptop' type='error' id='m2'><error type='cancel' by='example.test'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        var body = Body(events, "alice@example.test bob@example.test", ConversationType.OneToOne);
        Assert.Multiple(() =>
        {
            Assert.That(body, Does.Not.Contain("BOUNCED"), body);
            Assert.That(body, Does.Contain("error message (cancel/service-unavailable)"), "the error itself is kept as evidence");
        });
    }

    [Test]
    public void AMessageToAFullJidIsBouncedFromThatFullJidOnly()
    {
        const string toSession = "<message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test/desk' type='normal' id='m3'><body>to your desk</body></message>";
        var fromOtherSession = Classify(toSession,
            "<message xmlns='jabber:client' from='bob@example.test/phone' to='alice@example.test/laptop' type='error' id='m3'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        var fromThatAddress = Classify(toSession,
            "<message xmlns='jabber:client' from='Bob@Example.test/desk' to='alice@example.test/laptop' type='error' id='m3'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        Assert.Multiple(() =>
        {
            Assert.That(Body(fromOtherSession, "alice@example.test bob@example.test", ConversationType.OneToOne), Does.Not.Contain("BOUNCED"),
                "another session of bob's is not the address the message went to");
            Assert.That(Body(fromThatAddress, "alice@example.test bob@example.test", ConversationType.OneToOne),
                Does.Contain("to your desk [BOUNCED by the server: cancel/service-unavailable; not delivered]"), "user and domain compare without case");
        });
    }

    [Test]
    public void AnErrorBeforeTheMessageMarksNothing()
    {
        var events = Classify(
            "<message xmlns='jabber:client' from='nobody@example.test' to='alice@example.test/laptop' type='error' id='m1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
            ToNobody);
        Assert.That(Body(events, "alice@example.test nobody@example.test", ConversationType.OneToOne), Does.Not.Contain("BOUNCED"));
    }

    [Test]
    public void AHostileConditionNameIsNotEchoedRaw()
    {
        var events = Classify(ToNobody,
            "<message xmlns='jabber:client' from='nobody@example.test' to='alice@example.test/laptop' type='error' id='m1'><error type='&lt;b&gt;&#10;Bcc: x'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        var body = Body(events, "alice@example.test nobody@example.test", ConversationType.OneToOne);
        Assert.That(body.ReplaceLineEndings("\n").Split('\n').Any(l => l.StartsWith("Bcc:", StringComparison.Ordinal)), Is.False, "one line");
    }
}
