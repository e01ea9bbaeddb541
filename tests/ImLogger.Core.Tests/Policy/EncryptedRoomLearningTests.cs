using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Policy;

namespace ImLogger.Tests.Policy;

/// <summary>A room is learned end-to-end encrypted only from ciphertext the room itself reflected to a logged occupant:
/// never from what a user sent it, never from a bare XEP-0380 marker. Real classifier, real policy.</summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class EncryptedRoomLearningTests
{
    private const string Room = "team@conference.example.test";
    private const string Omemo = "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>MwohBf</key><iv>pTfM0XbD</iv></header><payload>ZmFrZQ==</payload></encrypted>";
    private const string BareMarker = "<encryption xmlns='urn:xmpp:eme:0' namespace='eu.siacs.conversations.axolotl' name='OMEMO'/>";

    private readonly StanzaClassifier _classifier = new(new[] { "alice@example.test", "carol@example.test" }.Contains);
    private readonly CompliancePolicy _policy = new(new RestrictionSettings());

    private Classification See(string xml)
    {
        var result = _classifier.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero)));
        _policy.Observe(result);
        return result;
    }

    private void AliceJoins() =>
        See($"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/l'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/><status code='110'/></x></presence>");

    private bool CarolMayJoin() => _policy.Decide(new InlineItem("1", InlineDirection.Out, "carol@example.test", true,
        XElement.Parse($"<presence xmlns='jabber:client' from='carol@example.test/l' to='{Room}/carol'><x xmlns='http://jabber.org/protocol/muc'/></presence>")), []).Allowed;

    [Test]
    public void CiphertextTheRoomReflectedToALoggedOccupantClosesTheRoom()
    {
        AliceJoins();
        var result = See($"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='g1'>{Omemo}{BareMarker}<body>fallback</body></message>");
        Assert.That(result.EncryptedRoom, Is.EqualTo(Room));
        Assert.That(CarolMayJoin(), Is.False);
    }

    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='team@conference.example.test' type='groupchat' id='p'>" + BareMarker + "<body>x</body></message>",
        TestName = "A logged user's own bare marker to the room")]
    [TestCase("<message xmlns='jabber:client' from='alice@example.test/l' to='team@conference.example.test' type='groupchat' id='p'>" + Omemo + "</message>",
        TestName = "A logged user's own ciphertext to the room")]
    [TestCase("<message xmlns='jabber:client' from='team@conference.example.test/bob' to='alice@example.test/l' type='groupchat' id='p'>" + BareMarker + "<body>x</body></message>",
        TestName = "A bare marker the room reflected")]
    [TestCase("<message xmlns='jabber:client' from='team@conference.example.test/bob' to='alice@example.test/l' type='groupchat' id='p'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>k</key><iv>i</iv></header></encrypted></message>",
        TestName = "OMEMO keys without a payload the room reflected")]
    [TestCase("<message xmlns='jabber:client' from='team@conference.example.test/bob' to='alice@example.test/l' type='groupchat' id='p'><body>?OTRv3 typed by anyone</body></message>",
        TestName = "An OTR-looking body the room reflected")]
    [TestCase("<message xmlns='jabber:client' from='team@conference.example.test/bob' to='carol@example.test/l' type='groupchat' id='p'>" + Omemo + "</message>",
        TestName = "Ciphertext to a logged user who is not an occupant")]
    [TestCase("<message xmlns='jabber:client' from='team@conference.example.test/bob' to='alice@example.test/l' type='chat' id='p'>" + Omemo + "</message>",
        TestName = "A private message through the room")]
    [TestCase("<message xmlns='jabber:client' from='team@conference.example.test' to='alice@example.test/l' type='groupchat' id='p'>" + Omemo + "</message>",
        TestName = "From the room's bare JID, no occupant")]
    [TestCase("<message xmlns='jabber:client' from='mallory@example.test/x' to='alice@example.test/l' type='groupchat' id='p'>" + Omemo + "</message>",
        TestName = "A user posing as a room")]
    public void NothingElseTeachesThatARoomIsEncrypted(string xml)
    {
        AliceJoins();
        var result = See(xml);
        Assert.Multiple(() =>
        {
            Assert.That(result.EncryptedRoom, Is.Null);
            Assert.That(_policy.EncryptedRooms, Is.Empty);
            Assert.That(CarolMayJoin(), Is.True);
        });
    }

    [Test]
    public void ALoggedUsersBareMarkerBesideTextIsPlainTextAndTheRoomStaysOpen()
    {
        // carol is not in the room: a XEP-0380 marker beside readable text hides nothing (issue 13), and teaches nothing.
        var result = See($"<message xmlns='jabber:client' from='carol@example.test/l' to='{Room}' type='groupchat' id='p'>{BareMarker}<body>hello</body></message>");
        var verdict = _policy.Decide(new InlineItem("1", InlineDirection.Out, "carol@example.test", true,
            XElement.Parse($"<message xmlns='jabber:client' from='carol@example.test/l' to='{Room}' type='groupchat' id='p'>{BareMarker}<body>hello</body></message>")), result.Events);
        Assert.That(verdict.Allowed, Is.True);
        Assert.That(result.Events.Single().Text, Is.EqualTo("hello"));
        Assert.That(CarolMayJoin(), Is.True);
    }

    [Test]
    public void AnOccupantWhoLeftTeachesNothingMore()
    {
        AliceJoins();
        See($"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/l' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/><status code='110'/></x></presence>");
        Assert.That(See($"<message xmlns='jabber:client' from='{Room}/bob' to='alice@example.test/l' type='groupchat' id='g'>{Omemo}</message>").EncryptedRoom, Is.Null);
    }
}
