using System.Text.RegularExpressions;
using System.Xml.Linq;
using ImLogger.Outbound;

namespace ImLogger.Tests.Outbound;

/// <summary>The exact XML of every stanza ImLogger sends: the Prosody and ejabberd modules read these (namespaces, attribute
/// names, ids), so a change here is a change of the wire protocol (docs/inline-protocol.md).</summary>
public partial class OutboundStanzasTests
{
    private const string Component = "imlogger.example.test";

    /// <summary>Text a client could choose, or a hostile config: markup, quotes, entities, a CDATA end, non-ASCII.</summary>
    private const string Hostile = "</body><x xmlns='jabber:client'/>&amp; \"quoted\" 'single' ]]> ünïcödé";

    private const string HostileEscaped = "&lt;/body&gt;&lt;x xmlns='jabber:client'/&gt;&amp;amp; \"quoted\" 'single' ]]&gt; ünïcödé";

    [GeneratedRegex("(imlogger-[a-z]+-)[0-9a-f]{32}")]
    private static partial Regex RandomId();

    /// <summary>The stanza as text, its random id part replaced by "ID".</summary>
    private static string Xml(XElement stanza) => RandomId().Replace(stanza.ToString(SaveOptions.DisableFormatting), "${1}ID");

    private static XElement Request(string xml) => XElement.Parse(xml);

    [Test]
    public void ANoticeIsAChatMessageFromTheComponentWithTheNoticeIdPrefix()
    {
        var notice = OutboundStanzas.Notice(Component, "bob@example.test", "This conversation is logged.");
        Assert.Multiple(() =>
        {
            Assert.That(Xml(notice), Is.EqualTo("<message from=\"imlogger.example.test\" to=\"bob@example.test\" type=\"chat\" id=\"imlogger-notice-ID\" " +
                                               "xmlns=\"jabber:component:accept\"><body>This conversation is logged.</body></message>"));
            Assert.That((string?)notice.Attribute("id"), Does.Match("^imlogger-notice-[0-9a-f]{32}$"));
            Assert.That(OutboundStanzas.NoticeIdPrefix, Is.EqualTo("imlogger-notice-"), "the Prosody and ejabberd modules and earlier spools know this prefix");
        });
    }

    [Test]
    public void EachStanzaGetsItsOwnId()
    {
        var ids = Enumerable.Range(0, 50).Select(_ => (string?)OutboundStanzas.Notice(Component, "bob@example.test", "x").Attribute("id")).ToList();
        Assert.That(ids, Is.Unique);
    }

    [Test]
    public void ARefusalNoticeHasItsOwnPrefixSoItIsNeverTakenForAnArchiveNotice()
    {
        var refusal = OutboundStanzas.RefusalNotice(Component, "alice@example.test", "Your message was not delivered.");
        Assert.That(Xml(refusal), Is.EqualTo("<message from=\"imlogger.example.test\" to=\"alice@example.test\" type=\"chat\" id=\"imlogger-refusal-ID\" " +
                                            "xmlns=\"jabber:component:accept\"><body>Your message was not delivered.</body></message>"));
        Assert.That(((string?)refusal.Attribute("id"))!.StartsWith(OutboundStanzas.NoticeIdPrefix, StringComparison.Ordinal), Is.False);
    }

    [Test]
    public void HostileTextIsEscapedAndStaysText()
    {
        var notice = OutboundStanzas.Notice(Component, "bob@example.test", Hostile);
        Assert.Multiple(() =>
        {
            Assert.That(Xml(notice), Does.Contain("<body>" + HostileEscaped + "</body>"));
            var back = XElement.Parse(notice.ToString(SaveOptions.DisableFormatting));
            Assert.That(back.Elements().Select(e => e.Name.LocalName), Is.EqualTo(new[] { "body" }), "no element smuggled in");
            Assert.That(back.Element(back.Name.Namespace + "body")!.Value, Is.EqualTo(Hostile));
        });
        var deny = OutboundStanzas.Verdicts(Request("<iq xmlns='jabber:component:accept' type='set' id='r1' from='example.test' to='imlogger.example.test'/>"),
            [new ItemVerdict("1\"><allow item=\"2", false, Text: Hostile)]);
        var parsed = XElement.Parse(deny.ToString(SaveOptions.DisableFormatting));
        var verdicts = parsed.Element(OutboundStanzas.InlineNs + "verdicts")!;
        Assert.That(verdicts.Elements().Select(e => (e.Name.LocalName, (string?)e.Attribute("item"))), Is.EqualTo(new[] { ("deny", (string?)"1\"><allow item=\"2") }),
            "an item id with markup stays one attribute value");
        Assert.That(verdicts.Element(OutboundStanzas.InlineNs + "deny")!.Value, Is.EqualTo(Hostile));
    }

    [Test]
    public void VerdictsAnswerTheRequestWithOneAllowOrDenyPerItemInOrder()
    {
        var request = Request("<iq xmlns='jabber:component:accept' type='set' id='imlogger-7' from='example.test' to='imlogger.example.test'>" +
                              "<batch xmlns='urn:imlogger:inline:0'><item id='1'/><item id='2'/><item id='3'/></batch></iq>");
        var answer = OutboundStanzas.Verdicts(request, [
            new ItemVerdict("1", true),
            new ItemVerdict("2", true, Unlogged: true),
            new ItemVerdict("3", false, ErrorType: "modify", Condition: "not-acceptable", Text: "no & <no>"),
            new ItemVerdict("4", false),
        ]);
        Assert.That(Xml(answer), Is.EqualTo(
            "<iq type=\"result\" id=\"imlogger-7\" from=\"imlogger.example.test\" to=\"example.test\" xmlns=\"jabber:component:accept\">" +
            "<verdicts xmlns=\"urn:imlogger:inline:0\">" +
            "<allow item=\"1\" /><allow item=\"2\" unlogged=\"true\" />" +
            "<deny item=\"3\" type=\"modify\" condition=\"not-acceptable\"><text xml:lang=\"en\">no &amp; &lt;no&gt;</text></deny>" +
            "<deny item=\"4\" type=\"cancel\" condition=\"policy-violation\"><text xml:lang=\"en\"></text></deny>" +
            "</verdicts></iq>"));
    }

    [Test]
    public void AClientVerdictAllowsOrRefusesWithTheText()
    {
        var request = Request("<iq xmlns='jabber:component:accept' type='set' id='cc-1' from='example.test' to='imlogger.example.test'><client-check xmlns='urn:imlogger:inline:0'/></iq>");
        Assert.Multiple(() =>
        {
            Assert.That(Xml(OutboundStanzas.ClientVerdict(request, true, "ignored when allowed")), Is.EqualTo(
                "<iq type=\"result\" id=\"cc-1\" from=\"imlogger.example.test\" to=\"example.test\" xmlns=\"jabber:component:accept\">" +
                "<client-verdict allow=\"true\" xmlns=\"urn:imlogger:inline:0\" /></iq>"));
            Assert.That(Xml(OutboundStanzas.ClientVerdict(request, false, Hostile)), Is.EqualTo(
                "<iq type=\"result\" id=\"cc-1\" from=\"imlogger.example.test\" to=\"example.test\" xmlns=\"jabber:component:accept\">" +
                "<client-verdict allow=\"false\" xmlns=\"urn:imlogger:inline:0\"><text xml:lang=\"en\">" + HostileEscaped + "</text></client-verdict></iq>"));
            Assert.That(Xml(OutboundStanzas.ClientVerdict(request, false, null)), Does.Contain("<client-verdict allow=\"false\" xmlns=\"urn:imlogger:inline:0\" />"));
        });
    }

    [Test]
    public void AVersionQueryCarriesTheIdTheCallerMatchesTheAnswerBy()
    {
        Assert.That(Xml(OutboundStanzas.VersionQuery(Component, "alice@example.test/phone", "imlogger-version-" + new string('a', 32))), Is.EqualTo(
            "<iq type=\"get\" id=\"imlogger-version-ID\" from=\"imlogger.example.test\" to=\"alice@example.test/phone\" xmlns=\"jabber:component:accept\">" +
            "<query xmlns=\"jabber:iq:version\" /></iq>"));
    }

    [Test]
    public void TheTapHeartbeatIsAHeadlineWithItsPayload() =>
        Assert.That(Xml(OutboundStanzas.TapHeartbeat(Component, "example.test/imlogger-alive")), Is.EqualTo(
            "<message type=\"headline\" id=\"imlogger-alive-ID\" from=\"imlogger.example.test\" to=\"example.test/imlogger-alive\" xmlns=\"jabber:component:accept\">" +
            "<alive xmlns=\"urn:imlogger:tap:0\" /></message>"));

    [Test]
    public void SeatsChangedIsASetToTheHost() =>
        Assert.That(Xml(OutboundStanzas.SeatsChanged(Component, "example.test")), Is.EqualTo(
            "<iq type=\"set\" id=\"imlogger-seats-ID\" from=\"imlogger.example.test\" to=\"example.test\" xmlns=\"jabber:component:accept\">" +
            "<seats-changed xmlns=\"urn:imlogger:inline:0\" /></iq>"));

    [Test]
    public void AnErrorReplyNamesTheConditionAndNeverEchoesThePayload()
    {
        var request = Request("<iq xmlns='jabber:component:accept' type='get' id='q&amp;1' from='mallory@example.test/x' to='imlogger.example.test'>" +
                              "<query xmlns='urn:example:secret'>what the client chose</query></iq>");
        Assert.Multiple(() =>
        {
            Assert.That(Xml(OutboundStanzas.Error(request, "cancel", "service-unavailable")), Is.EqualTo(
                "<iq type=\"error\" id=\"q&amp;1\" from=\"imlogger.example.test\" to=\"mallory@example.test/x\" xmlns=\"jabber:component:accept\">" +
                "<error type=\"cancel\"><service-unavailable xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\" /></error></iq>"));
            Assert.That(Xml(OutboundStanzas.Error(request, "modify", "bad-request", "ImLogger could not read this client check.")), Is.EqualTo(
                "<iq type=\"error\" id=\"q&amp;1\" from=\"imlogger.example.test\" to=\"mallory@example.test/x\" xmlns=\"jabber:component:accept\">" +
                "<error type=\"modify\"><bad-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\" />" +
                "<text xml:lang=\"en\" xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\">ImLogger could not read this client check.</text></error></iq>"));
            Assert.That(Xml(OutboundStanzas.Error(request, "auth", "not-authorized", from: Component + "/other")), Does.StartWith(
                "<iq type=\"error\" id=\"q&amp;1\" from=\"imlogger.example.test/other\" to=\"mallory@example.test/x\""), "from as given, for heartbeats");
            Assert.That(Xml(OutboundStanzas.Error(request, "cancel", "service-unavailable")), Does.Not.Contain("secret").And.Not.Contain("what the client chose"));
        });
    }

    [Test]
    public void ARequestWithoutIdOrAddressesIsStillAnsweredWithEmptyOnes() =>
        Assert.That(Xml(OutboundStanzas.Result(Request("<iq xmlns='jabber:component:accept' type='get'/>"))), Is.EqualTo(
            "<iq type=\"result\" id=\"\" from=\"\" to=\"\" xmlns=\"jabber:component:accept\" />"));

    [Test]
    public void DiscoInfoNamesTheArchiveComponentAndItsFeatures() =>
        Assert.That(Xml(OutboundStanzas.DiscoInfo(Request("<iq xmlns='jabber:component:accept' type='get' id='d1' from='alice@example.test/a' to='imlogger.example.test'>" +
                                                          "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"))), Is.EqualTo(
            "<iq type=\"result\" id=\"d1\" from=\"imlogger.example.test\" to=\"alice@example.test/a\" xmlns=\"jabber:component:accept\">" +
            "<query xmlns=\"http://jabber.org/protocol/disco#info\"><identity category=\"component\" type=\"archive\" name=\"ImLogger compliance archive\" />" +
            "<feature var=\"http://jabber.org/protocol/disco#info\" /><feature var=\"urn:xmpp:ping\" /></query></iq>"));
}
