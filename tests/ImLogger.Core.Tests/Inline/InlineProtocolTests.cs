using System.Xml.Linq;
using ImLogger.Envelope;
using ImLogger.Inline;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Inline;

/// <summary>The request and response shapes of docs/inline-protocol.md.</summary>
public class InlineProtocolTests
{
    private const string Request = """
        <iq xmlns='jabber:component:accept' type='set' id='imlogger-42' from='example.test' to='archive.example.test'>
          <batch xmlns='urn:imlogger:inline:0'>
            <item id='1' direction='out' user='Alice@example.test' to-local='true'>
              <message xmlns='jabber:client' from='alice@example.test/laptop' to='bob@example.test' type='chat' id='m1'><body>hello bob</body></message>
            </item>
            <item id='2' direction='in' user='alice@example.test' to-local='false'>
              <message from='bob@example.test/x' to='alice@example.test' type='chat'><body>no namespace given</body></message>
            </item>
            <item id='3' direction='sideways' user='alice@example.test'><message/></item>
            <gap user='alice@example.test' count='3' since='2026-11-25T09:00:00Z' until='2026-11-25T09:02:10Z'/>
          </batch>
        </iq>
        """;

    [Test]
    public void RequestItemsAndGapsAreRead()
    {
        var request = InlineRequest.TryParse(XElement.Parse(Request), out var problems)!;
        Assert.Multiple(() =>
        {
            Assert.That(request.Items.Select(i => (i.Id, i.Direction, i.User, i.ToLocal)), Is.EqualTo(new[]
            {
                ("1", InlineDirection.Out, "alice@example.test", true),
                ("2", InlineDirection.In, "alice@example.test", false),
            }));
            Assert.That(request.Items[1].Stanza.Name, Is.EqualTo(Ns.Client + "message"), "read as a client stanza whatever the wire namespace");
            Assert.That(request.Items[1].Stanza.Element(Ns.Client + "body")!.Value, Is.EqualTo("no namespace given"));
            Assert.That(problems.Single().ItemId, Is.EqualTo("3"), "a malformed item is reported, so it can be refused, not dropped");
            Assert.That(request.Gaps.Single(), Is.EqualTo(new InlineGap("alice@example.test", 3, "2026-11-25T09:00:00Z", "2026-11-25T09:02:10Z")));
        });
    }

    [TestCase("<iq xmlns='jabber:component:accept' type='get' id='x'><batch xmlns='urn:imlogger:inline:0'/></iq>")]
    [TestCase("<iq xmlns='jabber:component:accept' type='set' id='x'><query xmlns='jabber:iq:version'/></iq>")]
    [TestCase("<message xmlns='jabber:component:accept'/>")]
    public void OtherStanzasAreNotRequests(string xml) => Assert.That(InlineRequest.TryParse(XElement.Parse(xml), out _), Is.Null);

    [Test]
    public void ResponseCarriesOneVerdictPerItem()
    {
        var request = InlineRequest.TryParse(XElement.Parse(Request), out _)!;
        var response = InlineVerdict.Response(request, [
            ("1", InlineVerdict.Allow),
            ("2", InlineVerdict.Deny(ImLogger.Domain.RefusalRule.EndToEndEncryption, "policy-violation", "no <encryption> & co")),
        ]);
        var ns = InlineRequest.Ns;
        Assert.Multiple(() =>
        {
            Assert.That((string?)response.Attribute("type"), Is.EqualTo("result"));
            Assert.That((string?)response.Attribute("id"), Is.EqualTo("imlogger-42"));
            Assert.That((string?)response.Attribute("to"), Is.EqualTo("example.test"));
            Assert.That((string?)response.Attribute("from"), Is.EqualTo("archive.example.test"));
            var verdicts = response.Element(ns + "verdicts")!;
            Assert.That((string?)verdicts.Element(ns + "allow")!.Attribute("item"), Is.EqualTo("1"));
            var deny = verdicts.Element(ns + "deny")!;
            Assert.That((string?)deny.Attribute("item"), Is.EqualTo("2"));
            Assert.That((string?)deny.Attribute("type"), Is.EqualTo("cancel"));
            Assert.That((string?)deny.Attribute("condition"), Is.EqualTo("policy-violation"));
            Assert.That(deny.Element(ns + "text")!.Value, Is.EqualTo("no <encryption> & co"));
            Assert.That(response.ToString(), Does.Contain("&lt;encryption&gt; &amp; co"), "user-facing text is escaped on the wire");
        });
    }

    [Test]
    public void AnAllowForAUserWithoutASeatSaysSo()
    {
        var request = InlineRequest.TryParse(XElement.Parse(Request), out _)!;
        var response = InlineVerdict.Response(request, [("1", InlineVerdict.AllowUnlogged), ("2", InlineVerdict.Allow)]);
        var allows = response.Descendants(InlineRequest.Ns + "allow").ToList();
        Assert.That((string?)allows[0].Attribute("unlogged"), Is.EqualTo("true"));
        Assert.That(allows[1].Attribute("unlogged"), Is.Null);
    }

    [Test]
    public void SeatsChangedGoesToEveryDomainOfOrganizationsLoggedByDefaultInInlineModeOnly()
    {
        var config = new ImLogger.Config.ImLoggerConfig
        {
            SourcePath = "/etc/imlogger/imlogger.xml",
            Component = new ImLogger.Config.ComponentSettings { Jid = "archive.example.test", Host = "127.0.0.1", Port = 5347, Secret = "s", SecretSource = "test" },
            SpoolPath = "/tmp/spool.db",
            IdleClose = TimeSpan.FromMinutes(10),
            Organizations =
            [
                new ImLogger.Config.OrganizationConfig { Domains = ["example.test", "example.net"], DefaultEndpoint = "local", Users = [], LoggedByDefault = true },
                new ImLogger.Config.OrganizationConfig { Domains = ["partner.test"], DefaultEndpoint = "local", Users = [] },
            ],
            Endpoints = [new ImLogger.Config.DirectoryEndpointConfig { Name = "local", Path = "/tmp/a" }],
            Attach = new ImLogger.Config.AttachSettings { Mode = ImLogger.Config.AttachMode.Inline },
        };
        var notices = InlineVerdict.SeatsChanged(config);
        Assert.That(notices.Select(n => (string?)n.Attribute("to")), Is.EqualTo(new[] { "example.test", "example.net" }));
        Assert.That(notices[0].Element(InlineRequest.Ns + "seats-changed"), Is.Not.Null);
        Assert.That((string?)notices[0].Attribute("type"), Is.EqualTo("set"));
        Assert.That(InlineVerdict.SeatsChanged(config with { Attach = new ImLogger.Config.AttachSettings { Mode = ImLogger.Config.AttachMode.Tap } }), Is.Empty, "tap mode has no module to tell");
    }

    [Test]
    public void RefusalReportsAreReadAndTurnRememberedEventsIntoRefusals()
    {
        var iq = XElement.Parse("""
            <iq xmlns='jabber:component:accept' type='set' id='imlogger-43' from='example.test' to='archive.example.test'>
              <batch xmlns='urn:imlogger:inline:0'>
                <refused request='imlogger-42' count='2' reason='no answer within 10 s'/>
                <refused count='1'/>
              </batch>
            </iq>
            """);
        var refusal = InlineRequest.TryParse(iq, out _)!.Refusals.Single();
        Assert.That(refusal, Is.EqualTo(new InlineRefusal("imlogger-42", 2, "no answer within 10 s")));

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 30, TimeSpan.Zero));
        var late = new LateRefusals(time, capacity: 2);
        ImLogger.Domain.ConversationEvent Said(string text) => new()
        {
            Id = Guid.NewGuid().ToString("N"), ReceivedUtc = new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero), Kind = ImLogger.Domain.EventKind.Message,
            Direction = ImLogger.Domain.Direction.Outgoing, ConversationType = ImLogger.Domain.ConversationType.OneToOne,
            ConversationKey = "alice@example.test bob@example.test", From = "alice@example.test/a", To = "bob@example.test", SenderBareJid = "alice@example.test",
            Text = text, LoggedUsers = ["alice@example.test"], RawXml = "<message/>",
        };
        late.Remember("imlogger-42", [Said("first"), Said(new string('x', 1000))]);
        late.Remember("imlogger-41", [Said("older")]);
        var refused = late.Refused(refusal);
        Assert.Multiple(() =>
        {
            Assert.That(refused.Select(e => e.Kind), Is.All.EqualTo(ImLogger.Domain.EventKind.Refused));
            Assert.That(refused[0].Text, Is.EqualTo("first"));
            Assert.That(refused[1].Text!.Length, Is.LessThanOrEqualTo(301), "light copies");
            Assert.That(refused.Select(e => e.Rule), Is.All.EqualTo(ImLogger.Domain.RefusalRule.ServerTimeout));
            Assert.That(ImLogger.Domain.RefusalRules.Describe(refused[0].Rule, refused[0].Reason), Does.StartWith("server-timeout: recorded above at 2026-11-25 09:00:00Z, but NOT DELIVERED").And.Contain("no answer within 10 s"));
            Assert.That(refused[0].ReceivedUtc, Is.EqualTo(time.GetUtcNow()));
            Assert.That(refused[0].ConversationKey, Is.EqualTo("alice@example.test bob@example.test"));
        });
        Assert.That(late.Refused(refusal), Is.Empty, "reported once");
        late.Remember("imlogger-44", [Said("newer")]);
        late.Remember("imlogger-45", [Said("newest")]);
        Assert.That(late.Refused(new InlineRefusal("imlogger-41", 1, "x")), Is.Empty, "beyond the window");

        var off = new LateRefusals(time, capacity: 0);
        off.Remember("imlogger-42", [Said("first")]);
        Assert.That(off.Refused(refusal), Is.Empty, "fail-open keeps nothing: its adapter reports no refusal");
    }
}
