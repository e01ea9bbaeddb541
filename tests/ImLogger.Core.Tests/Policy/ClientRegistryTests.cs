using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Inline;
using ImLogger.Policy;

namespace ImLogger.Tests.Policy;

/// <summary>The approved-client decision never crosses users: a session is judged by what it declared itself.</summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class ClientRegistryTests
{
    private const string SharedVer = "q07IKJEyjvHSyhy//CH0CxmKi8w=";

    private readonly ClientRegistry _clients = new("archive.example.test");
    private readonly CompliancePolicy _policy;

    public ClientRegistryTests()
    {
        var org = new OrganizationConfig
        {
            Domains = ["example.test"], DefaultEndpoint = "a",
            Users = [new LoggedUserConfig("alice@example.test", null), new LoggedUserConfig("mallory@example.test", null)],
            ApprovedClients = [new ApprovedClient("Conversations", "http://conversations.im", new Version(2, 12))],
        };
        _policy = new CompliancePolicy(new RestrictionSettings(), _ => org, _clients);
    }

    private XElement? Online(string fullJid, string ver = SharedVer) => _clients.ObservePresence(XElement.Parse(
        $"<presence xmlns='jabber:client' from='{fullJid}'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://conversations.im' ver='{ver}'/></presence>"), fullJid);

    private static XElement Answer(XElement query, string from, string name, string version) => XElement.Parse(
        $"<iq xmlns='jabber:component:accept' type='result' id='{query.Attribute("id")!.Value}' from='{from}' to='archive.example.test'><query xmlns='jabber:iq:version'><name>{name}</name><version>{version}</version></query></iq>");

    private InlineVerdict Sends(string user, string fullJid) => _policy.Decide(new InlineItem("1", InlineDirection.Out, user, true,
        XElement.Parse($"<message xmlns='jabber:client' from='{fullJid}' to='bob@example.test' type='chat'><body>hi</body></message>")), []);

    [Test]
    public void AnotherUsersCapsVerAndAnEvilVersionDoNotRefuseTheRealClient()
    {
        var asked = Online("mallory@example.test/evil")!;
        _clients.ObserveVersionReply(Answer(asked, "mallory@example.test/evil", "EvilClient", "0.1"));
        Assert.That(Sends("mallory@example.test", "mallory@example.test/evil").Allowed, Is.False);

        var alicesQuery = Online("alice@example.test/phone");
        Assert.That(alicesQuery, Is.Not.Null, "alice's session is asked itself, whatever ver it shares");
        Assert.That(Sends("alice@example.test", "alice@example.test/phone").ErrorType, Is.EqualTo("wait"), "not judged by mallory's answer");
        _clients.ObserveVersionReply(Answer(alicesQuery!, "alice@example.test/phone", "Conversations", "2.13.1"));
        Assert.That(Sends("alice@example.test", "alice@example.test/phone").Allowed, Is.True);
    }

    [Test]
    public void AnApprovedClientsVerDoesNotApproveAnotherUsersClient()
    {
        var alicesQuery = Online("alice@example.test/phone")!;
        _clients.ObserveVersionReply(Answer(alicesQuery, "alice@example.test/phone", "Conversations", "2.13.1"));
        Assert.That(Online("mallory@example.test/evil"), Is.Not.Null, "mallory announcing alice's ver is asked, not taken at her word");
        Assert.That(Sends("mallory@example.test", "mallory@example.test/evil").Allowed, Is.False);
    }

    [TestCase("mallory@example.test/evil", TestName = "Another user")]
    [TestCase("alice@example.test/other", TestName = "Another session of the same user")]
    [TestCase("alice@example.test", TestName = "The bare JID")]
    [TestCase("example.test", TestName = "The server")]
    public void AReplyCountsOnlyFromTheSessionAsked(string from)
    {
        var query = Online("alice@example.test/phone")!;
        Assert.That(_clients.ObserveVersionReply(Answer(query, from, "Conversations", "2.13.1")), Is.True, "consumed: it is a reply to the component");
        Assert.That(_clients.Get("alice@example.test/phone")!.Answered, Is.False);
        _clients.ObserveVersionReply(Answer(query, "Alice@Example.test/phone", "Conversations", "2.13.1"));
        Assert.That(_clients.Get("alice@example.test/phone")!.Name, Is.EqualTo("Conversations"), "the session's own reply still counts (JID case aside)");
    }

    [Test]
    public void ARequestWithAQueryLikeIdIsNotTakenForAReply()
    {
        var query = Online("alice@example.test/phone")!;
        var request = XElement.Parse($"<iq xmlns='jabber:component:accept' type='set' id='{query.Attribute("id")!.Value}' from='alice@example.test/phone' to='archive.example.test'><query xmlns='jabber:iq:version'><name>Conversations</name><version>9</version></query></iq>");
        Assert.That(_clients.ObserveVersionReply(request), Is.False, "left to be answered like any request");
        Assert.That(_clients.Get("alice@example.test/phone")!.Answered, Is.False);
    }
}
