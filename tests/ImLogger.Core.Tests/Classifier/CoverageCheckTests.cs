using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Sinks;

namespace ImLogger.Tests.Classifier;

/// <summary>The coverage pass (Classifier/CoverageCheck.cs): every word of a logged user's stanza is carried by its events
/// or listed as "more content"; signalling with a body is both the event and the text.</summary>
public class CoverageCheckTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);
    private const string Alice = "alice@example.test";

    private static Classification Run(string xml, StanzaClassifier? classifier = null)
    {
        classifier ??= new StanzaClassifier(Alice.Equals);
        var env = new TapEnvelope(XElement.Parse(xml), "example.test", T0);
        return CoverageCheck.Complete(classifier, env, classifier.Classify(env), TranscriptMessageBuilder.RenderLine);
    }

    private static ConversationEvent More(Classification c) =>
        c.Events.Single(e => e.Kind == EventKind.Unclassified && e.Text!.Contains(CoverageCheck.Label, StringComparison.Ordinal));

    private const string Msg = "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' id='m1' type='chat'>";

    // Signalling beside a body: the classifier's event (or none), and the body as more content.
    [TestCase(Msg + "<ringing xmlns='urn:xmpp:jingle-message:0' id='c1'/><body>wire it tonight</body></message>", null)]
    [TestCase(Msg + "<propose xmlns='urn:xmpp:jingle-message:0'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><body>wire it tonight</body></message>", null)]
    [TestCase(Msg + "<propose xmlns='urn:xmpp:jingle-message:0' id='c2'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><body>wire it tonight</body></message>", EventKind.CallInitiated)]
    [TestCase(Msg + "<invite xmlns='urn:xmpp:call-invites:0'><jingle sid='s1'/></invite><body>wire it tonight</body></message>", null)]
    [TestCase(Msg + "<unknown-call xmlns='urn:xmpp:call-invites:0'/><body>wire it tonight</body></message>", null)]
    [TestCase(Msg + "<retract id='old-1' xmlns='urn:xmpp:message-retract:1'/><body>wire it tonight</body></message>", EventKind.Retraction)]
    [TestCase(Msg + "<reactions id='old-1' xmlns='urn:xmpp:reactions:0'><reaction>👍</reaction></reactions><body>wire it tonight</body></message>", EventKind.Reaction)]
    [TestCase(Msg + "<x xmlns='jabber:x:conference' jid='room@conference.example.test' reason='come'/><body>wire it tonight</body></message>", EventKind.Invitation)]
    public void BodyBesideSignallingIsArchivedAsWellAsTheEvent(string xml, EventKind? kind)
    {
        var c = Run(xml);
        if (kind is { } k) Assert.That(c.Events.Select(e => e.Kind), Does.Contain(k), c.Reason);
        var all = string.Join("\n", c.Events.Select(e => e.Text));
        Assert.That(all, Does.Contain("wire it tonight"), c.Reason);
    }

    [Test]
    public void BodyBesideMediatedInvitationIsArchived()
    {
        var c = Run("<message xmlns='jabber:client' from='room@conference.example.test' to='alice@example.test/l' id='i1'>"
                    + "<x xmlns='http://jabber.org/protocol/muc#user'><invite from='bob@example.test'><reason>join us</reason></invite></x>"
                    + "<body>the price is 12</body></message>");
        Assert.That(c.Events.Select(e => e.Kind), Does.Contain(EventKind.Invitation), c.Reason);
        Assert.That(More(c).Text, Does.Contain("body: the price is 12"));
    }

    [Test]
    public void SecondLanguageBodyIsKeptWithItsLanguage()
    {
        var c = Run(Msg + "<body>innocent</body><body xml:lang='de'>kauf die Aktien</body></message>");
        Assert.Multiple(() =>
        {
            Assert.That(c.Events[0].Kind, Is.EqualTo(EventKind.Message));
            Assert.That(c.Events[0].Text, Is.EqualTo("innocent"));
            Assert.That(More(c).Text, Does.Contain("body [de]: kauf die Aktien"));
            Assert.That(More(c).Text, Does.Not.Contain("innocent"), "the default body is carried once, by the message");
        });
    }

    [Test]
    public void SecondLanguageBodyIsListedEvenWhenItsLettersAreInTheFirst()
    {
        var c = Run(Msg + "<body>okay then</body><body xml:lang='fr'>ok</body></message>");
        Assert.That(More(c).Text, Does.Contain("body [fr]: ok"));
    }

    [Test]
    public void SecondXhtmlBodyIsKeptWithItsLanguage()
    {
        var c = Run(Msg + "<body>hi</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>hi</p></body>"
                    + "<body xmlns='http://www.w3.org/1999/xhtml' xml:lang='de'><p>geheim <b>verkaufen</b></p></body></html></message>");
        Assert.That(More(c).Text, Does.Contain("XHTML body [de]: geheim verkaufen"));
        Assert.That(More(c).Text, Does.Not.Contain("XHTML body: hi"));
    }

    [TestCase(Msg + "<body>x</body><thread>meet at the dock</thread></message>", "thread: meet at the dock")]
    // The housekeeping rule (StanzaClassifierHousekeepingTests) already archives a chat state with words as Unclassified; the pass adds nothing then.
    [TestCase(Msg + "<composing xmlns='http://jabber.org/protocol/chatstates'>sell everything</composing></message>", "sell everything")]
    [TestCase(Msg + "<body>x</body><addresses xmlns='http://jabber.org/protocol/address'><address type='to' jid='carol@example.test' desc='the insider'/></addresses></message>",
        "address desc: the insider")]
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='set' id='j1'><jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'>"
              + "<ringing xmlns='urn:xmpp:jingle:apps:rtp:info:1'>call me on my cell</ringing></jingle></iq>", "call me on my cell")]
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='set' id='b1'><data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='i1'>"
              + "dGhlIGRlYWwgaXMgb2Zm</data></iq>", "the deal is off")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' id='b2'><data xmlns='http://jabber.org/protocol/ibb' seq='1' sid='i1'>"
              + "dGhlIGRlYWwgaXMgb2Zm</data></message>", "the deal is off")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><show>the code is 4711</show></presence>", "the code is 4711")]
    [TestCase(Msg + "<body>x</body><delay xmlns='urn:xmpp:delay' stamp='2026-11-29T08:00:00Z'>held for you</delay></message>", "held for you")]
    [TestCase(Msg + "<body>x</body><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='carol@example.test'><body>quoted secret</body></message></forwarded></message>",
        "quoted secret")]
    public void TextNoRuleCarriesIsArchived(string xml, string words)
    {
        var c = Run(xml);
        Assert.That(string.Join("\n", c.Events.Select(e => e.Text)), Does.Contain(words), c.Reason);
    }

    [Test]
    public void BinaryInBandDataIsNotListed()
    {
        var bytes = Convert.ToBase64String([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
        var c = Run($"<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='set' id='b1'><data xmlns='http://jabber.org/protocol/ibb' seq='0' sid='i1'>{bytes}</data></iq>");
        Assert.That(c.Events.Where(e => e.Text?.Contains(CoverageCheck.Label, StringComparison.Ordinal) == true), Is.Empty, c.Reason);
    }

    // Content-free: nothing added.
    [TestCase(Msg + "<active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/><store xmlns='urn:xmpp:hints'/><origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l'><show>dnd</show><priority>-5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>"
              + "<x xmlns='vcard-temp:x:update'><photo>a3f0c9</photo></x></presence>")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test' to='alice@example.test/l' id='c1'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
              + "<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test'><body>archived when bob sent it</body></message></forwarded></received></message>")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l' to='room@conference.example.test/al'><x xmlns='http://jabber.org/protocol/muc'><password>s3cret</password></x></presence>")]
    public void ContentFreeStanzasGetNothingAdded(string xml)
    {
        var c = Run(xml);
        Assert.That(c.Events.Where(e => e.Text?.Contains(CoverageCheck.Label, StringComparison.Ordinal) == true), Is.Empty, c.Reason);
    }

    [Test]
    public void StanzaBetweenUsersNobodyLogsGetsNothing()
    {
        var c = Run("<message xmlns='jabber:client' from='carol@example.test/l' to='bob@example.test' type='chat'><ringing xmlns='urn:xmpp:jingle-message:0' id='c1'/><body>hi</body></message>");
        Assert.That(c.Events, Is.Empty);
    }

    [Test]
    public void AnUnclassifiedEventIsCompletedRatherThanDoubled()
    {
        var c = Run(Msg + "<thing xmlns='urn:example:unknown'/><thread>t-77</thread></message>");
        Assert.That(c.Events, Has.Count.EqualTo(1), "one event per stanza for the deduplicator");
        Assert.That(c.Events[0].Text, Does.Contain("t-77"));
    }

    [Test]
    public void AnEmoticonInTheMessagesXhtmlIsCarriedByItsHtmlPartButWordsInAnAltAreListed()
    {
        var emoticon = Run(Msg + "<body>hello bob</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>hello <b>bob</b> <img alt=\":'-)\" src='s.png'/></p></body></html></message>");
        Assert.That(emoticon.Events, Has.Count.EqualTo(1), emoticon.Reason);
        var words = Run(Msg + "<body>hello bob</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>hello bob <img alt='sell before friday' src='s.png'/></p></body></html></message>");
        Assert.That(More(words).Text, Does.Contain("XHTML image: sell before friday"));
    }

    [Test]
    public void AnEncryptedStanzasFallbackBodyIsNeverListedAsWhatWasSaid()
    {
        var c = Run("<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat' id='o1'><body>I sent you an OMEMO encrypted message</body>"
                    + "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohBQ==</key><iv>AAEC</iv></header><payload>AQID</payload></encrypted></message>");
        Assert.That(c.Events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Encrypted }));
    }

    [Test]
    public void AnErrorsTextBesideARecognisedRejectionIsListed()
    {
        var c = Run("<iq xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='error' id='si-offer-1'><error type='cancel'>"
                    + "<feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>meet me outside instead</text></error></iq>");
        Assert.That(string.Join("\n", c.Events.Select(e => e.Text)), Does.Contain("meet me outside instead"), c.Reason);
    }

    [Test]
    public void ARoomsReflectionOfASubjectAlreadyArchivedAddsNothing()
    {
        var classifier = new StanzaClassifier(Alice.Equals);
        Run("<presence xmlns='jabber:client' from='room@conference.example.test/al' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'>"
            + "<item affiliation='member' role='participant' jid='alice@example.test/l'/><status code='110'/></x></presence>", classifier);
        var change = Run("<message xmlns='jabber:client' from='alice@example.test/l' to='room@conference.example.test' type='groupchat'><subject>Q4 planning</subject></message>", classifier);
        var reflection = Run("<message xmlns='jabber:client' from='room@conference.example.test/al' to='alice@example.test/l' type='groupchat'><subject>Q4 planning</subject></message>", classifier);
        Assert.That(change.Events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.SubjectChanged }), change.Reason);
        Assert.That(reflection.Events, Is.Empty, reflection.Reason);
    }

    /// <summary>Real client XML (Resources/events): the coverage pass lists only words no event carries (a file's
    /// description, a retraction's fallback body), never negotiation, hashes or sizes.</summary>
    [TestCase("correction")] [TestCase("file-link")] [TestCase("file-metadata", "desc")] [TestCase("file-si-offer")] [TestCase("invitation-direct")]
    [TestCase("invitation-mediated")] [TestCase("jingle-audio-call")] [TestCase("jingle-file-transfer", "desc")] [TestCase("jingle-video-call")]
    [TestCase("jmi-propose")] [TestCase("reaction")] [TestCase("retraction", "body")] [TestCase("subject")] [TestCase("housekeeping")] [TestCase("meeting-invite")]
    [TestCase("audio-conference")] [TestCase("desktop-share")] [TestCase("phone-call")] [TestCase("jmi-finish")] [TestCase("jmi-proceed")] [TestCase("jmi-reject")]
    [TestCase("jmi-retract")] [TestCase("file-si-accept-and-close")] [TestCase("file-si-reject")] [TestCase("invitation-declined")] [TestCase("invitation-mediated-room-leg", "body")]
    public void RecordedClientXmlNeedsNoMoreContentThanItsWords(string fixture, params string[] expected)
    {
        var classifier = new StanzaClassifier(new[] { Alice, "bob@example.test" }.Contains);
        var missing = new List<string>();
        foreach (var s in Recordings.Stanzas($"events.{fixture}.xml"))
        {
            var env = new TapEnvelope(s, "example.test", T0);
            var before = classifier.Classify(env);
            missing.AddRange(CoverageCheck.Missing(CoverageCheck.Pieces(s), before.Events, TranscriptMessageBuilder.RenderLine).Select(p => p.Where));
        }
        Assert.That(missing, Is.EqualTo(expected));
    }
}
