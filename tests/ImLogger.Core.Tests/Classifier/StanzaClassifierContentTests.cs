using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

/// <summary>Archive by default: every stanza shape inline fail-closed holds because it can carry words is archived
/// with those words (docs/inline-protocol.md, "Which stanzas are held"), in either direction.</summary>
public class StanzaClassifierContentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    private static Classification Classify(string xml, params string[] logged) =>
        new StanzaClassifier(logged.Length == 0 ? "alice@example.test".Equals : logged.Contains)
            .Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0));

    private static ConversationEvent Archived(string xml, params string[] words)
    {
        var result = Classify(xml);
        Assert.That(result.Events, Has.Count.EqualTo(1), result.Reason);
        var e = result.Events[0];
        foreach (var w in words)
            Assert.That(e.Text, Does.Contain(w), "the readable text of the event");
        Assert.That(e.RawXml, Does.Contain(words[0]), "the raw stanza is kept");
        return e;
    }

    // Error messages: both the echoed body and the error's own text, either direction.
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='error' id='e1'><body>wire the money today</body>"
              + "<error type='cancel'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>and tell nobody</text></error></message>",
        "wire the money today", "and tell nobody")]
    [TestCase("<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='error'>"
              + "<error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='de'>Treffen um fünf</text></error></message>",
        "Treffen um fünf")]
    // An iq answer with a payload: the version reply names anything.
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test/p' type='result' id='v1'><query xmlns='jabber:iq:version'><name>the merger is on</name><version>1.0</version></query></iq>",
        "the merger is on")]
    [TestCase("<iq xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='result' id='v2'><query xmlns='jabber:iq:version'><name>buy at noon</name></query></iq>",
        "buy at noon")]
    // A PEP publish to the user's own account (Prosody cleared `to`) and a pubsub publish to a service.
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='http://jabber.org/protocol/mood'>"
              + "<item><mood xmlns='http://jabber.org/protocol/mood'><happy/><text>sold my shares</text></mood></item></publish></pubsub></iq>",
        "sold my shares")]
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' to='pubsub.example.test' type='set' id='p2'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='news'>"
              + "<item><entry xmlns='http://www.w3.org/2005/Atom'><title>Q4 numbers</title><summary>down 40%</summary></entry></item></publish></pubsub></iq>",
        "Q4 numbers", "down 40%")]
    // The notifications a publish causes, from a user's bare JID or a pubsub service.
    [TestCase("<message xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='headline' id='n1'><event xmlns='http://jabber.org/protocol/pubsub#event'>"
              + "<items node='http://jabber.org/protocol/tune'><item id='current'><tune xmlns='http://jabber.org/protocol/tune'><title>meet me at five</title></tune></item></items></event></message>",
        "meet me at five", "http://jabber.org/protocol/tune")]
    [TestCase("<message xmlns='jabber:client' from='pubsub.example.test' to='alice@example.test' id='n2'><event xmlns='http://jabber.org/protocol/pubsub#event'>"
              + "<items node='news'><item id='1'><entry xmlns='http://www.w3.org/2005/Atom'><title>layoffs friday</title></entry></item></items></event></message>",
        "layoffs friday")]
    // vCard set (own account), vCard result to a logged user, private storage.
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' type='set' id='vc1'><vCard xmlns='vcard-temp'><FN>Alice</FN><DESC>call 555-0100 about the deal</DESC></vCard></iq>",
        "call 555-0100 about the deal")]
    [TestCase("<iq xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='result' id='vc2'><vCard xmlns='vcard-temp'><NOTE>password is hunter2</NOTE></vCard></iq>",
        "password is hunter2")]
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' type='set' id='ps1'><query xmlns='jabber:iq:private'><notes xmlns='http://miranda-im.org/storage#notes'><note><text>hidden plan</text></note></notes></query></iq>",
        "hidden plan")]
    // Presence status, to a bare JID and broadcast; a subscription request's nick.
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><status>sell everything</status></presence>", "sell everything")]
    [TestCase("<presence xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test'><show>dnd</show><status>in the board meeting</status></presence>", "in the board meeting")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l'><status>leaving the company</status></presence>", "leaving the company")]
    [TestCase("<presence xmlns='jabber:client' from='mallory@example.test' to='alice@example.test' type='subscribe'><nick xmlns='http://jabber.org/protocol/nick'>Your bank</nick><status>verify your account</status></presence>",
        "Your bank", "verify your account")]
    // Another language, and a free-text attribute one element deeper than usual.
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' type='set' id='d1'><query xmlns='jabber:iq:roster'><item jid='x@example.test' name='秘密の会議'/></query></iq>",
        "秘密の会議")]
    public void ShapesThatCarryWordsAreArchivedWithThem(string xml, params string[] words)
    {
        var e = Archived(xml, words);
        Assert.That(e.LoggedUsers, Does.Contain("alice@example.test"));
    }

    [Test]
    public void DiscoveryAnswersAreQueriesNotWords()
    {
        // A disco#info answer names the client (its identity), which ImLogger reads for approved clients: plumbing.
        var result = Classify("<iq xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='result' id='d2'>"
                              + "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc' name='Gajim'/></query></iq>");
        Assert.That(result.Events, Is.Empty, result.Reason);
    }

    [TestCase("<iq xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='result' id='r1'/>", "without text")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='probe'/>", "probe")]
    [TestCase("<presence xmlns='jabber:client' from='alice@example.test/l'><x xmlns='vcard-temp:x:update'><photo>0123456789abcdef</photo></x></presence>", "availability")]
    [TestCase("<message xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'>"
              + "<items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='1234'/></list></item></items></event></message>",
        "without text")]
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' type='set' id='m1'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='with'><value>bob@example.test</value></field></x></query></iq>",
        "query")]
    public void ShapesWithoutWordsStayIgnored(string xml, string reason)
    {
        var result = Classify(xml);
        Assert.That(result.Events, Is.Empty);
        Assert.That(result.Reason, Does.Contain(reason));
    }

    [Test]
    public void EncryptedErrorMessageIsAnEncryptedEventForThePolicyToRefuse()
    {
        var e = Classify("<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='error'>"
                         + "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/><payload>AAAA</payload></encrypted><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")
            .Events.Single();
        Assert.That(e.Kind, Is.EqualTo(EventKind.Encrypted));
    }

    // Encrypted content one wrapper deeper than a message: in a PEP item (its notification reaches every
    // subscriber), in an error's echo, in a vCard answer. Key material (a device list) is not content.
    [TestCase("<iq xmlns='jabber:client' from='alice@example.test/l' type='set' id='x1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='notes'><item>"
              + "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>a2V5</key><iv>aXY=</iv></header><payload>c2VjcmV0</payload></encrypted></item></publish></pubsub></iq>", "OMEMO")]
    [TestCase("<message xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='notes'><item id='1'>"
              + "<openpgp xmlns='urn:xmpp:openpgp:0'>aGk=</openpgp></item></items></event></message>", "OpenPGP (XEP-0373)")]
    [TestCase("<iq xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='result' id='x2'><vCard xmlns='vcard-temp'><NOTE><x xmlns='jabber:x:encrypted'>LS0t</x></NOTE></vCard></iq>", "OpenPGP (XEP-0027)")]
    public void EncryptedPayloadsDeeperInTheTreeAreEncryptedEvents(string xml, string scheme)
    {
        var e = Classify(xml).Events.Single();
        Assert.That(e.Kind, Is.EqualTo(EventKind.Encrypted));
        Assert.That(e.EncryptionScheme, Is.EqualTo(scheme));
    }

    [Test]
    public void RoomPasswordsAreNeverArchivedAsText()
    {
        Assert.That(StanzaClassifier.ReadableText(XElement.Parse(
            "<presence xmlns='jabber:client'><x xmlns='http://jabber.org/protocol/muc'><password>s3cret</password></x><status>hello</status></presence>")),
            Is.EqualTo("hello"));
    }
}
