using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Conversations;
using ImLogger.Envelope;

namespace ImLogger.Tests.Classifier;

/// <summary>XEP-0172 user nicknames (issue 19): what a sender calls themselves travels onto the events of their own
/// stanzas as <see cref="ConversationEvent.DisplayName"/>, never onto anyone else's.</summary>
public class StanzaClassifierNicknameTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private const string NickNs = "http://jabber.org/protocol/nick";
    private const string Room = "room@conference.example.test";

    private readonly StanzaClassifier _classifier = new("alice@example.test".Equals);

    private Classification Classify(string xml) => _classifier.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0));

    private ConversationEvent Single(string xml)
    {
        var result = Classify(xml);
        Assert.That(result.Events, Has.Count.EqualTo(1), result.Reason);
        return result.Events[0];
    }

    [Test]
    public void APeersNicknameNamesThePeer()
    {
        var e = Single($"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat'><body>hi</body><nick xmlns='{NickNs}'>Bob Builder</nick></message>");
        Assert.Multiple(() =>
        {
            Assert.That(e.DisplayName, Is.EqualTo("Bob Builder"));
            Assert.That(e.SenderBareJid, Is.EqualTo("bob@example.test"));
            Assert.That(e.Nick, Is.Null, "a user nickname is not a room nickname");
        });
    }

    [Test]
    public void ALoggedUsersOwnNicknameNamesThem()
    {
        var e = Single($"<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><nick xmlns='{NickNs}'>  Alice Liddell </nick><body>hi</body></message>");
        Assert.That((e.SenderBareJid, e.DisplayName), Is.EqualTo(("alice@example.test", "Alice Liddell")), "trimmed");
    }

    [Test]
    public void ASubscriptionRequestCarriesTheRequestersNickname()
    {
        var e = Single($"<presence xmlns='jabber:client' from='carol@partner.test' to='alice@example.test' type='subscribe'><nick xmlns='{NickNs}'>Carol</nick><status>add me</status></presence>");
        Assert.That((e.SenderBareJid, e.DisplayName), Is.EqualTo(("carol@partner.test", "Carol")));
    }

    [Test]
    public void AnErrorEchoingSomeoneElsesNicknameNamesNobody()
    {
        // A bounce carries the original stanza's children: alice's nickname, sent back from bob's side.
        var e = Single($"<message xmlns='jabber:client' from='bob@example.test' to='alice@example.test/l' type='error' id='m1'><body>hi</body><nick xmlns='{NickNs}'>Alice Liddell</nick>"
                       + "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        Assert.That(e.DisplayName, Is.Null);
    }

    [Test]
    public void ANicknameDeeperInTheStanzaIsNotTheSenders()
    {
        var e = Single($"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat'><body>fwd</body>"
                       + $"<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='carol@partner.test'><nick xmlns='{NickNs}'>Carol</nick></message></forwarded></message>");
        Assert.That(e.DisplayName, Is.Null, "a forwarded message's nickname is its author's claim, not bob's");
    }

    [TestCase("")]
    [TestCase("   \t\n ")]
    public void ABlankNicknameIsNoNickname(string nick)
    {
        var e = Single($"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat'><body>hi</body><nick xmlns='{NickNs}'>{nick}</nick></message>");
        Assert.That(e.DisplayName, Is.Null);
    }

    [Test]
    public void AVeryLongNicknameIsCutNotDropped()
    {
        var e = Single($"<message xmlns='jabber:client' from='bob@example.test/p' to='alice@example.test/l' type='chat'><body>hi</body><nick xmlns='{NickNs}'>{new string('b', 5000)}</nick></message>");
        Assert.That(e.DisplayName, Is.EqualTo(new string('b', StanzaClassifier.MaxDisplayName)));
    }

    [Test]
    public void ARoomReflectingAnOccupantsNicknameNamesTheOccupantsRealJid()
    {
        JoinRoomWithBob();
        var e = Single($"<message xmlns='jabber:client' from='{Room}/bobby' to='alice@example.test/l' type='groupchat'><body>numbers</body><nick xmlns='{NickNs}'>Bob Builder</nick></message>");
        Assert.Multiple(() =>
        {
            Assert.That(e.SenderBareJid, Is.EqualTo("bob@example.test"));
            Assert.That(e.Nick, Is.EqualTo("bobby"), "the room nickname stays the room's");
            Assert.That(e.DisplayName, Is.EqualTo("Bob Builder"));
        });
    }

    [Test]
    public void APrivateMessageThroughARoomNamesNoJid()
    {
        JoinRoomWithBob();
        // From room@service/nick as a one-to-one chat: its sender JID is the room's, which the occupant's nickname must not name.
        var e = Single($"<message xmlns='jabber:client' from='{Room}/bobby' to='alice@example.test/l' type='chat'><body>psst</body><nick xmlns='{NickNs}'>The Room Admin</nick></message>");
        Assert.That(e.DisplayName, Is.Null);
    }

    private void JoinRoomWithBob()
    {
        Classify($"<presence xmlns='jabber:client' from='{Room}/bobby' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='bob@example.test/p'/></x></presence>");
        Classify($"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='alice@example.test/l'/><status code='110'/></x></presence>");
    }
}
