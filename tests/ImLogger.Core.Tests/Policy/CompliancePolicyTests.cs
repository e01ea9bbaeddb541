using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Inline;
using ImLogger.Policy;

namespace ImLogger.Tests.Policy;

public class CompliancePolicyTests
{
    private static InlineItem Item(InlineDirection direction, string xml, bool toLocal = true) =>
        new("1", direction, "alice@example.test", toLocal, XElement.Parse(xml));

    private static ConversationEvent Encrypted(ConversationType type = ConversationType.OneToOne, string key = "alice@example.test bob@example.test") => new()
    {
        Id = "e", ReceivedUtc = DateTimeOffset.UnixEpoch, Kind = EventKind.Encrypted, Direction = Direction.Outgoing,
        ConversationType = type, ConversationKey = key, From = "alice@example.test/l", To = "bob@example.test",
        EncryptionScheme = "OMEMO", LoggedUsers = ["alice@example.test"], RawXml = "<m/>",
    };

    /// <summary>What the classifier makes of ciphertext a room reflected to a logged occupant.</summary>
    private static Classification Reflected(string room) =>
        new Classification([Encrypted(ConversationType.GroupChat, room)], "end-to-end encrypted message (OMEMO)") { EncryptedRoom = room };

    private const string Chat = "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>hi</body></message>";
    private const string Join = "<presence xmlns='jabber:client' from='alice@example.test/l' to='room@conference.remote.test/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>";

    [Test]
    public void PlainMessagesAreAllowed()
    {
        var v = new CompliancePolicy(new RestrictionSettings()).Decide(Item(InlineDirection.Out, Chat), []);
        Assert.That(v.Allowed, Is.True);
    }

    [TestCase(InlineDirection.Out, "cannot be sent", "was not delivered")]
    [TestCase(InlineDirection.In, "alice@example.test is logged for compliance", "sent you an encrypted message (OMEMO)")]
    public void EncryptionIsRefusedBothWaysWithTextsForBothSides(InlineDirection direction, string senderText, string notice)
    {
        var v = new CompliancePolicy(new RestrictionSettings()).Decide(Item(direction, Chat), [Encrypted()]);
        Assert.Multiple(() =>
        {
            Assert.That(v.Allowed, Is.False);
            Assert.That(v.Rule?.Name(), Is.EqualTo("end-to-end-encryption"));
            Assert.That(v.Condition, Is.EqualTo("policy-violation"));
            Assert.That(v.Text, Does.Contain(senderText));
            Assert.That(v.NoticeToLoggedUser, Does.Contain(notice));
        });
    }

    [Test]
    public void JoiningARoomOnAnotherServerIsRefused()
    {
        var v = new CompliancePolicy(new RestrictionSettings()).Decide(Item(InlineDirection.Out, Join, toLocal: false), []);
        Assert.That(v.Rule?.Name(), Is.EqualTo("federated-group-chat"));
        Assert.That(v.Text, Does.Contain("conference.remote.test"));
    }

    [Test]
    public void JoiningALocalRoomIsAllowedAndSoIsAnIncomingPresence()
    {
        var policy = new CompliancePolicy(new RestrictionSettings());
        Assert.That(policy.Decide(Item(InlineDirection.Out, Join, toLocal: true), []).Allowed, Is.True);
        Assert.That(policy.Decide(Item(InlineDirection.In, Join, toLocal: false), []).Allowed, Is.True, "only a logged user's own joins are restricted");
    }

    [Test]
    public void EncryptedRoomsListedOrSeenCannotBeJoined()
    {
        var listed = "<presence xmlns='jabber:client' from='alice@example.test/l' to='secret@conference.example.test/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>";
        var learned = "<presence xmlns='jabber:client' from='alice@example.test/l' to='omemo@conference.example.test/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>";
        var policy = new CompliancePolicy(new RestrictionSettings { EncryptedRooms = ["secret@conference.example.test"] });
        Assert.That(policy.Decide(Item(InlineDirection.Out, listed), []).Rule?.Name(), Is.EqualTo("encrypted-group-chat"));
        Assert.That(policy.Decide(Item(InlineDirection.Out, learned), []).Allowed, Is.True);
        policy.Observe(Reflected("omemo@conference.example.test"));
        var v = policy.Decide(Item(InlineDirection.Out, learned), []);
        Assert.That(v.Rule?.Name(), Is.EqualTo("encrypted-group-chat"));
        Assert.That(v.Text, Does.Contain("encrypted traffic seen"));
    }

    [Test]
    public void LearnedEncryptedRoomsSurviveARestartUntilForgotten()
    {
        var path = Path.Combine(Path.GetTempPath(), $"imlogger-rooms-{Guid.NewGuid():N}.db");
        var learned = "<presence xmlns='jabber:client' from='alice@example.test/l' to='omemo@conference.example.test/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>";
        var listed = new RestrictionSettings { EncryptedRooms = ["secret@conference.example.test"] };
        try
        {
            using (var spool = new ImLogger.Spool.LiteDbSpool(path, Microsoft.Extensions.Logging.Abstractions.NullLogger<ImLogger.Spool.LiteDbSpool>.Instance))
            {
                var first = new CompliancePolicy(listed, store: spool);
                first.Observe(Reflected("omemo@conference.example.test"));
                Assert.That(spool.LearnedEncryptedRooms(), Is.Empty, "written with the batch, not on its own");
                // as StanzaPipeline.Store does: in the batch's unit of work
                var rooms = first.UnsavedRooms();
                spool.InOneWrite(() => first.SaveRooms(rooms));
                first.RoomsSaved(rooms);
                Assert.That(first.UnsavedRooms(), Is.Empty);
                Assert.That(spool.LearnedEncryptedRooms().Keys, Is.EquivalentTo(new[] { "omemo@conference.example.test" }), "only learned rooms are stored");
            }
            using (var spool = new ImLogger.Spool.LiteDbSpool(path, Microsoft.Extensions.Logging.Abstractions.NullLogger<ImLogger.Spool.LiteDbSpool>.Instance))
            {
                var restarted = new CompliancePolicy(listed, store: spool);
                Assert.That(restarted.Decide(Item(InlineDirection.Out, learned), []).Rule?.Name(), Is.EqualTo("encrypted-group-chat"), "still refused after a restart");
                Assert.That(restarted.Forget("secret@conference.example.test"), Is.False, "a room the config lists is not forgotten");
                Assert.That(restarted.Forget("omemo@conference.example.test"), Is.True);
                Assert.That(restarted.Decide(Item(InlineDirection.Out, learned), []).Allowed, Is.True);
                Assert.That(spool.LearnedEncryptedRooms(), Is.Empty);
                Assert.That(restarted.Forget("omemo@conference.example.test"), Is.False, "already forgotten");
            }
        }
        finally
        {
            foreach (var f in Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileNameWithoutExtension(path) + "*")) File.Delete(f);
        }
    }

    [Test]
    public void AStoreThatCannotWriteKeepsTheRoomRefusedAndWritesItLater()
    {
        var store = new Moq.Mock<IEncryptedRoomStore>();
        store.Setup(s => s.LearnedEncryptedRooms()).Returns(new Dictionary<string, string>());
        store.SetupSequence(s => s.AddLearnedEncryptedRoom(Moq.It.IsAny<string>(), Moq.It.IsAny<string>()))
            .Throws(new IOException("No space left on device")).Pass();
        var policy = new CompliancePolicy(new RestrictionSettings(), store: store.Object);
        policy.Observe(Reflected("omemo@conference.example.test"));
        Assert.That(policy.EncryptedRooms.Keys, Does.Contain("omemo@conference.example.test"));
        policy.Observe(Classification.Ignored("nothing"));
        store.Verify(s => s.AddLearnedEncryptedRoom("omemo@conference.example.test", Moq.It.IsAny<string>()), Moq.Times.Exactly(2));
    }

    [Test]
    public void UnapprovedClientsAreRefusedOnceIdentified()
    {
        var org = new OrganizationConfig
        {
            Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)],
            ApprovedClients = [new ApprovedClient("Conversations", "http://conversations.im", new Version(2, 12))],
        };
        var clients = new ClientRegistry("archive.example.test");
        var policy = new CompliancePolicy(new RestrictionSettings(), _ => org, clients);

        var unknown = policy.Decide(Item(InlineDirection.Out, Chat), []);
        Assert.That(unknown.Rule?.Name(), Is.EqualTo("unapproved-client"));
        Assert.That(unknown.ErrorType, Is.EqualTo("wait"), "not identified yet: try again");

        var query = clients.ObservePresence(XElement.Parse("<presence xmlns='jabber:client' from='alice@example.test/l'><c xmlns='http://jabber.org/protocol/caps' node='http://conversations.im' ver='abc=' hash='sha-1'/></presence>"), "alice@example.test/l");
        Assert.That(query, Is.Not.Null);
        Assert.That((string?)query!.Attribute("to"), Is.EqualTo("alice@example.test/l"));
        Assert.That(clients.ObservePresence(XElement.Parse("<presence xmlns='jabber:client' from='alice@example.test/l'/>"), "alice@example.test/l"), Is.Null, "asked once");

        clients.ObserveVersionReply(XElement.Parse($"<iq xmlns='jabber:component:accept' type='result' id='{query.Attribute("id")!.Value}' from='alice@example.test/l'><query xmlns='jabber:iq:version'><name>Conversations</name><version>2.10.1</version></query></iq>"));
        var tooOld = policy.Decide(Item(InlineDirection.Out, Chat), []);
        Assert.That(tooOld.Rule?.Name(), Is.EqualTo("unapproved-client"));
        Assert.That(tooOld.Text, Does.Contain("Conversations 2.10.1").And.Contain("Conversations 2.12 or later"));

        // Another session with the same caps hash is asked too: what one session declares decides for it alone.
        Assert.That(clients.ObservePresence(XElement.Parse("<presence xmlns='jabber:client' from='alice@example.test/phone'><c xmlns='http://jabber.org/protocol/caps' node='http://conversations.im' ver='abc=' hash='sha-1'/></presence>"), "alice@example.test/phone"), Is.Not.Null);
        Assert.That(clients.Get("alice@example.test/phone")!.Answered, Is.False);
    }

    [TestCase("Conversations", null, "2.12.0", true)]
    [TestCase("conversations", null, "2.13", true)]
    [TestCase(null, "http://conversations.im/caps", "2.12", true)]
    [TestCase("Conversations", null, "2.11.9", false)]
    [TestCase("Gajim", "https://gajim.org", "1.8", false)]
    [TestCase("Conversations", null, null, false)]
    public void ApprovedClientMatching(string? name, string? node, string? version, bool expected)
    {
        var approved = new ApprovedClient("Conversations", "http://conversations.im", new Version(2, 12));
        ApprovedClient.TryParseVersion(version, out var v);
        Assert.That(approved.Matches(name, node, v), Is.EqualTo(expected));
    }

    [TestCase("1.8.3", "1.8.3")]
    [TestCase("2.12.1+free", "2.12.1")]
    [TestCase("v1.8", "1.8")]
    [TestCase("7", "7.0")]
    public void VersionsAreReadFromTheirLeadingNumbers(string text, string expected)
    {
        Assert.That(ApprovedClient.TryParseVersion(text, out var v), Is.True);
        Assert.That(v, Is.EqualTo(Version.Parse(expected)));
    }
}
