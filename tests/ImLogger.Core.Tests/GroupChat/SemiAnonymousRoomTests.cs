using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Conversations;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Notifier;
using ImLogger.ServerRules;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.GroupChat;

/// <summary>Semi-anonymous rooms (Prosody's default): the room hides occupants' real JIDs from a logged user who is not a
/// moderator; the server's MUC module names them on the held item (occupant-jid). Classifier, notifier, wire and rules.</summary>
public class SemiAnonymousRoomTests
{
    private const string Room = "team@conference.example.test";
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    // What alice (logged, not a moderator) receives when bob joins: no jid on the item.
    private static string Join(string nick, string? disclosed = null) =>
        $"<presence xmlns='jabber:client' from='{Room}/{nick}' to='alice@example.test/pc'><x xmlns='http://jabber.org/protocol/muc#user'>"
        + $"<item affiliation='none' role='participant'{(disclosed == null ? "" : $" jid='{disclosed}/phone'")}/></x></presence>";

    private static string Leave(string nick, string? newNick = null) =>
        $"<presence xmlns='jabber:client' type='unavailable' from='{Room}/{nick}' to='alice@example.test/pc'><x xmlns='http://jabber.org/protocol/muc#user'>"
        + $"<item affiliation='none' role='none'{(newNick == null ? "" : $" nick='{newNick}'")}/>{(newNick == null ? "" : "<status code='303'/>")}</x></presence>";

    private static IReadOnlyList<ConversationEvent> Classify(StanzaClassifier c, string xml, string? occupantJid) =>
        c.Classify(new TapEnvelope(XElement.Parse(xml), "example.test", T0) { OccupantJid = occupantJid }).Events;

    private static StanzaClassifier Classifier() => new("alice@example.test".Equals);

    [Test]
    public void AnOccupantTheRoomHidesIsArchivedWithTheRealJidTheServerNamed()
    {
        var c = Classifier();
        var joined = Classify(c, Join("bob"), "bob@example.test").Single();
        var said = Classify(c, $"<message xmlns='jabber:client' type='groupchat' from='{Room}/bob' to='alice@example.test/pc'><body>hi</body></message>", null).Single();
        Assert.Multiple(() =>
        {
            Assert.That(joined.SenderBareJid, Is.EqualTo("bob@example.test"));
            Assert.That(joined.RealJidHidden, Is.True);
            Assert.That(said.SenderBareJid, Is.EqualTo("bob@example.test"), "a message of a known occupant carries the real JID");
            Assert.That(said.RealJidHidden, Is.True);
        });
    }

    [Test]
    public void WithoutTheServersWordAnOccupantStaysANickname()
    {
        var joined = Classify(Classifier(), Join("bob"), null).Single();
        Assert.That((joined.SenderBareJid, joined.RealJidHidden), Is.EqualTo(((string?)null, false)));
    }

    [Test]
    public void ARealJidTheRoomDisclosesIsNotHidden()
    {
        var joined = Classify(Classifier(), Join("bob", "bob@example.test"), "bob@example.test").Single();
        Assert.That((joined.SenderBareJid, joined.RealJidHidden), Is.EqualTo(("bob@example.test", false)));
    }

    [Test]
    public void AMessageFromAnOccupantSeenFirstAfterARestartUsesTheItemsRealJid()
    {
        var said = Classify(Classifier(), $"<message xmlns='jabber:client' type='groupchat' from='{Room}/bob' to='alice@example.test/pc'><body>hi</body></message>", "bob@example.test").Single();
        Assert.That((said.SenderBareJid, said.RealJidHidden), Is.EqualTo(("bob@example.test", true)));
    }

    private static Dictionary<string, OrganizationConfig> Orgs() => new()
    {
        ["alice@example.test"] = new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)] },
    };

    [Test]
    public void AHiddenOccupantIsToldThroughTheRoomByNicknameOnceEvenAfterANickChange()
    {
        var time = new FakeTimeProvider(T0);
        var orgs = Orgs();
        var notifier = new ArchiveNotifier(j => orgs.GetValueOrDefault(j), "archive.example.test", time);
        var c = Classifier();
        var self = $"<presence xmlns='jabber:client' from='{Room}/alice' to='alice@example.test/pc'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant' jid='alice@example.test/pc'/><status code='110'/></x></presence>";
        var events = Classify(c, Join("bob"), "bob@example.test").Concat(Classify(c, self, "alice@example.test")).ToList();
        var (output, stanzas) = notifier.Observe(events);
        var to = stanzas.Select(s => (string)s.Attribute("to")!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(to, Is.EquivalentTo(new[] { $"{Room}/bob", "alice@example.test" }), "the hidden occupant through the room, the logged user directly");
            Assert.That(output.Single(e => e.Kind == EventKind.Notice).To, Does.Contain($"{Room}/bob (bob@example.test)"), "the transcript names both");
        });

        time.Advance(TimeSpan.FromSeconds(5));
        var renamed = Classify(c, Leave("bob", "robert"), "bob@example.test").Concat(Classify(c, Join("robert"), "bob@example.test"))
            .Concat(Classify(c, $"<message xmlns='jabber:client' type='groupchat' from='{Room}/robert' to='alice@example.test/pc'><body>me again</body></message>", null)).ToList();
        Assert.That(notifier.Observe(renamed).Stanzas, Is.Empty, "a nickname change is the same occupant: told no second time");
    }

    [TestCase("bob@example.test", "bob@example.test")]
    [TestCase("BOB@Example.Test", "bob@example.test")]
    [TestCase("bob@example.test/phone", null)]
    [TestCase("bob smith@example.test", null)]
    [TestCase("<b>@example.test", null)]
    [TestCase("bob", null)]
    [TestCase("a@b@c", null)]
    [TestCase("bob@example.test\nREFUSED", null)]
    public void TheWireCarriesOnlyAPlainBareJid(string attribute, string? expected)
    {
        var request = new XElement(InlineRequest.Ns + "batch",
            new XElement(InlineRequest.Ns + "item", new XAttribute("id", "1"), new XAttribute("direction", "in"), new XAttribute("user", "alice@example.test"),
                new XAttribute("occupant-jid", attribute), XElement.Parse(Join("bob"))));
        var iq = new XElement("iq", new XAttribute("type", "set"), new XAttribute("from", "example.test"), request);
        Assert.That(InlineRequest.TryParse(iq, out _)!.Items.Single().OccupantJid, Is.EqualTo(expected));
    }

    [Test]
    public void ProsodyConfigLoadsTheGroupChatModuleOnEachGroupChatHost()
    {
        ImLoggerConfig Config(IReadOnlyList<string> hosts) => new()
        {
            SourcePath = "/etc/imlogger/imlogger.xml",
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s3cret", SecretSource = "test" },
            SpoolPath = "/var/lib/imlogger/spool.db",
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations = [new OrganizationConfig { Domains = ["example.test"], DefaultEndpoint = "local", GroupChatHosts = hosts,
                Users = [new LoggedUserConfig("alice@example.test", null)] }],
            Endpoints = [new DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
            Attach = new AttachSettings { Mode = AttachMode.Inline },
        };
        var with = ProsodyInlineRules.ConfigSnippet(Config(["conference.example.test"]), "/etc/prosody/imlogger").ReplaceLineEndings("\n");
        var without = ProsodyInlineRules.ConfigSnippet(Config([]), "/etc/prosody/imlogger");
        Assert.Multiple(() =>
        {
            Assert.That(with, Does.Contain("Component \"conference.example.test\" \"muc\"\n\tmodules_enabled = { \"imlogger_muc\" }\n\timlogger_component = \"archive.example.test\""));
            Assert.That(without, Does.Not.Contain("imlogger_muc").And.Contain("group-chat-hosts"), "without hosts the snippet says what is missing");
            Assert.That(ProsodyInlineRules.MucModuleSource(), Does.Contain("function occupant_real_jid"));
        });
    }
}
