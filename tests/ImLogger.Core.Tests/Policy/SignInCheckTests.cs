using System.Xml.Linq;
using ImLogger.Config;
using ImLogger.Inline;
using ImLogger.Policy;
using ImLogger.ServerRules;

namespace ImLogger.Tests.Policy;

/// <summary>Approved clients at sign-in: the adapter's client-check request read, and judged by the session's own answer.</summary>
public class SignInCheckTests
{
    private static readonly OrganizationConfig Org = new()
    {
        Domains = ["example.test"], DefaultEndpoint = "a", Users = [new LoggedUserConfig("alice@example.test", null)],
        ApprovedClients = [new ApprovedClient("Conversations", "http://conversations.im", new Version(2, 12)), new ApprovedClient("Gajim", null, new Version(1, 8))],
    };

    private static ClientCheckRequest Request(string answer, string? reply = null, string? caps = null, string session = "alice@example.test/l")
    {
        var iq = XElement.Parse($"""
            <iq xmlns='jabber:component:accept' type='set' id='imlogger-client-1' from='example.test' to='archive.example.test'>
              <client-check xmlns='urn:imlogger:inline:0' user='alice@example.test' session='{session}' answer='{answer}'>{reply}{caps}</client-check></iq>
            """);
        var request = ClientCheckRequest.TryParse(iq, out var problem);
        Assert.That(problem, Is.Null);
        return request!;
    }

    private static string Version(string? name, string? version) =>
        $"<iq xmlns='jabber:client' type='result' id='imlogger-version-1' from='alice@example.test/l' to='example.test'><query xmlns='jabber:iq:version'>"
        + (name == null ? "" : $"<name>{name}</name>") + (version == null ? "" : $"<version>{version}</version>") + "</query></iq>";

    [TestCase("Conversations", "2.13.1", true)]
    [TestCase("gajim", "1.8.0", true)]
    [TestCase("Conversations", "2.10", false)]
    [TestCase("EvilClient", "99", false)]
    [TestCase("Conversations", null, false)]
    [TestCase(null, "2.13", false)]
    public void AClientIsJudgedByItsOwnAnswer(string? name, string? version, bool allowed)
    {
        var clients = new ClientRegistry("archive.example.test");
        var verdict = new CompliancePolicy(new RestrictionSettings(), _ => Org, clients).DecideSignIn(Request("result", Version(name, version)), logged: true);
        Assert.That(verdict.Allowed, Is.EqualTo(allowed), verdict.Detail);
        if (!allowed)
        {
            Assert.That(verdict.Text, Does.Contain("Conversations 2.12 or later, Gajim 1.8 or later").And.Contain("session was closed"));
            Assert.That(verdict.Text, Does.Not.Contain("EvilClient"), "a client's own words are never repeated to anyone");
        }
    }

    [Test]
    public void TheAnswerIsRecordedSoThePerStanzaRuleAgreesAndNeverAsksAgain()
    {
        var clients = new ClientRegistry("archive.example.test");
        var policy = new CompliancePolicy(new RestrictionSettings(), _ => Org, clients);
        Assert.That(policy.DecideSignIn(Request("result", Version("Conversations", "2.13")), logged: true).Allowed, Is.True);
        Assert.That(clients.Get("alice@example.test/l")!.Answered, Is.True);
        Assert.That(clients.QueryIfUnknown("alice@example.test/l"), Is.Null, "a client that would answer differently the second time is never asked twice");
    }

    [Test]
    public void ATooOldApprovedClientIsToldToUpdate()
    {
        var verdict = new CompliancePolicy(new RestrictionSettings(), _ => Org, new ClientRegistry("c")).DecideSignIn(Request("result", Version("Conversations", "2.10.1")), logged: true);
        Assert.That(verdict.Text, Does.Contain("(Conversations 2.10.1) is older than the versions approved").And.Contain("Update it"));
    }

    [TestCase("none", "did not answer")]
    [TestCase("flood", "too many stanzas")]
    public void NoAnswerOrAFloodIsRefused(string answer, string detail)
    {
        var verdict = new CompliancePolicy(new RestrictionSettings(), _ => Org, new ClientRegistry("c")).DecideSignIn(Request(answer), logged: true);
        Assert.That(verdict.Allowed, Is.False);
        Assert.That(verdict.Detail, Does.Contain(detail));
    }

    [Test]
    public void AnErrorAHugeOrAControlCharacterAnswerIsRefused()
    {
        var policy = new CompliancePolicy(new RestrictionSettings(), _ => Org, new ClientRegistry("c"));
        var error = "<iq xmlns='jabber:client' type='error' id='imlogger-version-1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>";
        Assert.That(policy.DecideSignIn(Request("error", error), logged: true).Allowed, Is.False);
        Assert.That(policy.DecideSignIn(Request("result", Version("Conversations", "2.13." + new string('9', 200))), logged: true).Allowed, Is.False, "a version of 200 digits is not a version");
        Assert.That(policy.DecideSignIn(Request("result", Version("Conver&#x9;sations", "2.13")), logged: true).Allowed, Is.False);
        var tooLarge = XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='x' from='example.test'><client-check xmlns='urn:imlogger:inline:0' user='alice@example.test' session='alice@example.test/l' answer='too-large' size='90000'/></iq>");
        var verdict = policy.DecideSignIn(ClientCheckRequest.TryParse(tooLarge, out _)!, logged: true);
        Assert.That(verdict.Allowed, Is.False);
        Assert.That(verdict.Detail, Does.Contain("90000 bytes"));
    }

    [Test]
    public void TheCapsNodeOfTheFirstPresenceCountsAsForThePerStanzaRule()
    {
        var caps = "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://conversations.im' ver='abc='/>";
        var verdict = new CompliancePolicy(new RestrictionSettings(), _ => Org, new ClientRegistry("c")).DecideSignIn(Request("result", Version("Quicksy", "2.13"), caps), logged: true);
        Assert.That(verdict.Allowed, Is.True, verdict.Detail);
    }

    [Test]
    public void AnyClientWhenNoneAreListedOrTheUserHoldsNoSeat()
    {
        var open = new CompliancePolicy(new RestrictionSettings(), _ => Org with { ApprovedClients = null }, new ClientRegistry("c"));
        Assert.That(open.DecideSignIn(Request("none"), logged: true).Allowed, Is.True);
        var listed = new CompliancePolicy(new RestrictionSettings(), _ => Org, new ClientRegistry("c"));
        Assert.That(listed.DecideSignIn(Request("none"), logged: false).Allowed, Is.True);
    }

    [Test]
    public void MalformedRequestsAreReadWithAProblemAndOthersAreNotRequests()
    {
        var missing = XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='x'><client-check xmlns='urn:imlogger:inline:0' user='alice@example.test' answer='result'/></iq>");
        Assert.That(ClientCheckRequest.TryParse(missing, out var problem), Is.Not.Null);
        Assert.That(problem, Does.Contain("without user or session"));
        var noReply = XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='x'><client-check xmlns='urn:imlogger:inline:0' user='a@b' session='a@b/c' answer='result'/></iq>");
        ClientCheckRequest.TryParse(noReply, out problem);
        Assert.That(problem, Does.Contain("without its answer"));
        var weird = XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='x'><client-check xmlns='urn:imlogger:inline:0' user='a@b' session='a@b/c' answer='maybe'/></iq>");
        ClientCheckRequest.TryParse(weird, out problem);
        Assert.That(problem, Does.Contain("unknown answer"));
        Assert.That(ClientCheckRequest.TryParse(XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='x'><batch xmlns='urn:imlogger:inline:0'/></iq>"), out _), Is.Null);
    }

    [Test]
    public void TheSnippetTurnsTheCheckOnOnlyForOrganizationsWithApprovedClients()
    {
        var config = new ImLoggerConfig
        {
            SourcePath = "/etc/imlogger/imlogger.xml",
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = "/var/lib/imlogger/spool.db",
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations = [Org with { ClientAnswerWithin = TimeSpan.FromSeconds(3) }, Org with { Domains = ["other.test"], ApprovedClients = null }],
            Endpoints = [new DirectoryEndpointConfig { Name = "a", Path = "/tmp/a" }],
            Attach = new AttachSettings { Mode = AttachMode.Inline },
        };
        var snippet = ProsodyInlineRules.ConfigSnippet(config, "/plugins");
        var example = snippet[snippet.IndexOf("VirtualHost \"example.test\"", StringComparison.Ordinal)..snippet.IndexOf("VirtualHost \"other.test\"", StringComparison.Ordinal)];
        var other = snippet[snippet.IndexOf("VirtualHost \"other.test\"", StringComparison.Ordinal)..];
        Assert.That(example, Does.Contain("imlogger_check_clients = true").And.Contain("imlogger_client_timeout = 3"));
        Assert.That(other, Does.Not.Contain("imlogger_check_clients"));
        Assert.That(RulesGeneration.Of(config), Is.Not.EqualTo(RulesGeneration.Of(config with { Organizations = [Org with { ApprovedClients = null }, config.Organizations[1]] })),
            "turning the check on or off is a new generation of the rules");
    }

    [Test]
    public void TheEjabberdSnippetTurnsTheCheckOnOnlyForOrganizationsWithApprovedClients()
    {
        var config = new ImLoggerConfig
        {
            SourcePath = "/etc/imlogger/imlogger.xml",
            Component = new ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = "/var/lib/imlogger/spool.db",
            IdleClose = TimeSpan.FromMinutes(10),
            // ejabberd takes whole seconds: 2.5 s is written as 3, never less than configured.
            Organizations = [Org with { ClientAnswerWithin = TimeSpan.FromSeconds(2.5) }, Org with { Domains = ["other.test"], ApprovedClients = null }],
            Endpoints = [new DirectoryEndpointConfig { Name = "a", Path = "/tmp/a" }],
            Attach = new AttachSettings { Mode = AttachMode.Inline, Server = XmppServerKind.Ejabberd },
        };
        var yml = EjabberdInlineRules.ConfigSnippet(config, "/etc/ejabberd/imlogger").ReplaceLineEndings("\n");
        var example = yml[yml.IndexOf("  \"example.test\":", StringComparison.Ordinal)..yml.IndexOf("  \"other.test\":", StringComparison.Ordinal)];
        var other = yml[yml.IndexOf("  \"other.test\":", StringComparison.Ordinal)..];
        Assert.That(example, Does.Contain("\n        check_clients: true\n").And.Contain("\n        client_timeout: 3\n"));
        Assert.That(other, Does.Not.Contain("check_clients"));
    }
}
