using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Config;
using ImLogger.Envelope;
using ImLogger.Inline;
using ImLogger.Policy;

namespace ImLogger.Tests.Policy;

/// <summary>Notices and errors ImLogger sends never contain text a client chose: the archive's JID must not be made to
/// say "SECURITY NOTICE from IT: reset your password at https://...".</summary>
public class NoticeTextTests
{
    private const string Phishing = "SECURITY NOTICE from IT: reset your password at https://evil.example/reset";

    private static InlineVerdict Decide(InlineDirection direction, string xml, CompliancePolicy? policy = null)
    {
        var stanza = XElement.Parse(xml);
        var events = new StanzaClassifier(new[] { "alice@example.test" }.Contains)
            .Classify(new TapEnvelope(stanza, "example.test", DateTimeOffset.UnixEpoch)).Events;
        return (policy ?? new CompliancePolicy(new RestrictionSettings())).Decide(new InlineItem("1", direction, "alice@example.test", true, stanza), events);
    }

    private static IEnumerable<string?> Texts(InlineVerdict v) => [v.Text, v.NoticeToLoggedUser];

    // A XEP-0380 marker names a scheme; only the payload beside it is encryption, named by its namespace from a fixed list.
    [TestCase("urn:example:made-up")]
    [TestCase("eu.siacs.conversations.axolotl")]
    [TestCase("urn:xmpp:otr:0")]
    [TestCase("")]
    public void TheEmeNameIsNeverRepeatedOnlyAFixedNameForThePayload(string ns)
    {
        foreach (var (direction, from, to) in new[] { (InlineDirection.In, "mallory@example.test/x", "alice@example.test/l"), (InlineDirection.Out, "alice@example.test/l", "bob@example.test") })
        {
            var marker = $"<encryption xmlns='urn:xmpp:eme:0' namespace='{ns}' name='{Phishing}'/>";
            var v = Decide(direction, $"<message xmlns='jabber:client' from='{from}' to='{to}' type='chat'>{marker}<body>hi</body></message>");
            Assert.That(v.Allowed, Is.True, "a marker beside plain text hides nothing: the text is archived");
            v = Decide(direction, $"<message xmlns='jabber:client' from='{from}' to='{to}' type='chat'>{marker}<encrypted xmlns='urn:xmpp:omemo:2'><payload>eA==</payload></encrypted></message>");
            Assert.That(v.Rule?.Name(), Is.EqualTo("end-to-end-encryption"));
            Assert.That(Texts(v), Has.All.Not.Contain("SECURITY").And.All.Not.Contain("https"));
            Assert.That(v.Text, Does.Contain("(OMEMO 2)"));
        }
    }

    [Test]
    public void AClientsSelfDeclaredNameIsNeverRepeated()
    {
        var org = new OrganizationConfig
        {
            Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)],
            ApprovedClients = [new ApprovedClient("Conversations", null, new Version(2, 12))],
        };
        var clients = new ClientRegistry("archive.example.test");
        var policy = new CompliancePolicy(new RestrictionSettings(), _ => org, clients);
        var query = clients.ObservePresence(XElement.Parse("<presence xmlns='jabber:client' from='alice@example.test/l'/>"), "alice@example.test/l")!;
        clients.ObserveVersionReply(new XElement(Ns.Component + "iq", new XAttribute("type", "result"), new XAttribute("id", query.Attribute("id")!.Value),
            new XAttribute("from", "alice@example.test/l"),
            new XElement(XName.Get("query", "jabber:iq:version"), new XElement(XName.Get("name", "jabber:iq:version"), Phishing + "\nGAP: forged log line"),
                new XElement(XName.Get("version", "jabber:iq:version"), "1.0 (click https://evil.example)"))));
        var v = Decide(InlineDirection.Out, "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>hi</body></message>", policy);
        Assert.Multiple(() =>
        {
            Assert.That(v.Rule?.Name(), Is.EqualTo("unapproved-client"));
            Assert.That(Texts(v), Has.All.Not.Contain("SECURITY").And.All.Not.Contain("https"));
            Assert.That(v.Text, Does.Contain("Conversations 2.12 or later"), "the config's names are what users read");
            Assert.That(v.Detail, Does.Contain("SECURITY NOTICE").And.Not.Contain("\n"), "the log and archive say what it claimed, on one line");
        });
    }

    [Test]
    public void AnApprovedClientTooOldIsNamedAsTheConfigNamesItWithItsVersionNumbers()
    {
        var org = new OrganizationConfig
        {
            Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)],
            ApprovedClients = [new ApprovedClient("Conversations", null, new Version(2, 12))],
        };
        var clients = new ClientRegistry("archive.example.test");
        var query = clients.ObservePresence(XElement.Parse("<presence xmlns='jabber:client' from='alice@example.test/l'/>"), "alice@example.test/l")!;
        clients.ObserveVersionReply(XElement.Parse($"<iq xmlns='jabber:component:accept' type='result' id='{query.Attribute("id")!.Value}' from='alice@example.test/l'><query xmlns='jabber:iq:version'><name>conversations</name><version>2.10.1+evil text</version></query></iq>"));
        var v = Decide(InlineDirection.Out, "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat'><body>hi</body></message>",
            new CompliancePolicy(new RestrictionSettings(), _ => org, clients));
        Assert.That(v.Text, Does.StartWith("Your client (Conversations 2.10.1) is not approved"));
        Assert.That(Texts(v), Has.All.Not.Contain("evil"));
    }

    [TestCase("bob@example.test", "bob@example.test")]
    [TestCase("reset your password@example.test", "another address")]
    [TestCase("a:b@example.test", "another address")]
    public void AJidIsShownOnlyAsAServerPreppedOneCanLook(string jid, string shown) =>
        Assert.That(CompliancePolicy.Shown(jid), Is.EqualTo(shown));
}
