using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

public class StanzaClassifierTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    private static Classification Classify(StanzaClassifier c, string xml) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0));

    private static StanzaClassifier For(params string[] logged) => new(logged.Contains);

    [Test]
    public void XhtmlOnlyMessageIsArchivedWithEmoticonText()
    {
        var result = Classify(For("alice@example.test"), """
            <message xmlns='jabber:client' from='bob@example.test/phone' to='alice@example.test' type='chat' id='m1'>
              <html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>good news <img alt=':-)' src='cid:smile'/></p><p>second <b>line</b></p></body></html>
            </message>
            """);
        var e = result.Events.Single();
        Assert.Multiple(() =>
        {
            Assert.That(e.Text, Is.EqualTo("good news :-)\nsecond line"));
            Assert.That(e.Html, Does.StartWith("<body"));
            Assert.That(e.Direction, Is.EqualTo(Direction.Incoming));
            Assert.That(e.ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
        });
    }

    [Test]
    public void MessageBetweenTwoLoggedUsersBelongsToBoth()
    {
        var e = Classify(For("alice@example.test", "bob@example.test"),
            "<message xmlns='jabber:client' from='bob@example.test/phone' to='alice@example.test/laptop' type='chat'><body>hi</body></message>").Events.Single();
        Assert.That(e.Direction, Is.EqualTo(Direction.Both));
        Assert.That(e.LoggedUsers, Is.EquivalentTo(new[] { "alice@example.test", "bob@example.test" }));
    }

    [TestCase("<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>", "without a body")]
    [TestCase("<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>", "error message without text")]
    [TestCase("<message xmlns='jabber:client' to='alice@example.test' type='chat'><body>x</body></message>", "without from")]
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' to='example.test' type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>", "housekeeping")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l'><show>away</show><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://gajim.org' ver='x'/></presence>", "presence (availability)")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'/>", "directed presence")]
    public void StanzasWithoutArchivableContentAreIgnoredWithAReason(string xml, string reason)
    {
        var result = Classify(For("alice@example.test"), xml);
        Assert.That(result.Events, Is.Empty);
        Assert.That(result.Reason, Does.Contain(reason));
    }

    [Test]
    public void OccupantsPresentBeforeTheSelfPresenceAreNotJoins()
    {
        var c = For("alice@example.test");
        const string room = "lobby@conference.example.test";
        var before = Classify(c, $"<presence xmlns='jabber:client' from='{room}/carol' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='carol@example.test/x' role='participant' affiliation='none'/></x></presence>");
        var self = Classify(c, $"<presence xmlns='jabber:client' from='{room}/alice' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant' affiliation='none'/><status code='110'/></x></presence>");
        var later = Classify(c, $"<presence xmlns='jabber:client' from='{room}/dave' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant' affiliation='none'/></x></presence>");
        var statusChange = Classify(c, $"<presence xmlns='jabber:client' from='{room}/dave' to='alice@example.test/l'><show>away</show><x xmlns='http://jabber.org/protocol/muc#user'><item role='participant' affiliation='none'/></x></presence>");
        var kicked = Classify(c, $"<presence xmlns='jabber:client' from='{room}/dave' to='alice@example.test/l' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none' affiliation='none'/><status code='307'/></x></presence>");
        Assert.Multiple(() =>
        {
            Assert.That(before.Events.Single().Kind, Is.EqualTo(EventKind.Present));
            Assert.That(before.Events.Single().SenderBareJid, Is.EqualTo("carol@example.test"));
            Assert.That(self.Events.Single().Kind, Is.EqualTo(EventKind.Joined));
            Assert.That(later.Events.Single().Kind, Is.EqualTo(EventKind.Joined));
            Assert.That(statusChange.Events, Is.Empty);
            Assert.That(kicked.Events.Single().Kind, Is.EqualTo(EventKind.Left));
            Assert.That(kicked.Events.Single().StatusCodes, Is.EqualTo(new[] { 307 }));
        });
    }

    [Test]
    public void PrivateMessageThroughARoomIsAConversationWithTheOccupant()
    {
        var c = For("alice@example.test");
        Classify(c, "<presence xmlns='jabber:client' from='lobby@conference.example.test/alice' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>");
        var pm = Classify(c, "<message xmlns='jabber:client' from='lobby@conference.example.test/bob' to='alice@example.test/l' type='chat'><body>psst</body></message>").Events.Single();
        Assert.That(pm.ConversationType, Is.EqualTo(ConversationType.OneToOne));
        Assert.That(pm.ConversationKey, Is.EqualTo("alice@example.test lobby@conference.example.test/bob"));
    }

    [Test]
    public void BodyWithoutLanguageIsPreferred()
    {
        var e = Classify(For("alice@example.test"),
            "<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test'><body xml:lang='de'>Hallo</body><body>Hello</body></message>").Events.Single();
        Assert.That(e.Text, Is.EqualTo("Hello"));
        Assert.That(e.StanzaType, Is.EqualTo("normal"));
    }
}
