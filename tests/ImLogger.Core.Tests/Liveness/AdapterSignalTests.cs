using System.Xml.Linq;
using ImLogger.Liveness;

namespace ImLogger.Tests.Liveness;

public class AdapterSignalTests
{
    private const string Component = "archive.example.test";
    private static readonly HashSet<string> Domains = new(["example.test", "partner.test"], StringComparer.Ordinal);

    private static AdapterSignalResult? Read(string xml) => AdapterSignal.Read(XElement.Parse(xml), Domains, Component);

    private static string Alive(string from) =>
        $"""<iq xmlns="jabber:component:accept" type="set" id="imlogger-alive-1" from="{from}" to="{Component}"><alive xmlns="urn:imlogger:inline:0" version="1" generation="abc123" held="7" reason="heartbeat"/></iq>""";

    private static string TapCopy(string relay, string innerTo, string outerTo = Component + "/imlogger-rules-abc123", string innerFrom = Component) =>
        $"""<message xmlns="jabber:component:accept" from="{relay}" to="{outerTo}"><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" type="headline" id="imlogger-alive-x" from="{innerFrom}" to="{innerTo}"><alive xmlns="urn:imlogger:tap:0"/></message></forwarded></message>""";

    [Test]
    public void TheInlineModuleOfAConfiguredHostIsBelievedAndAnswered()
    {
        var result = Read(Alive("example.test"))!;
        Assert.That(result.Sign, Is.EqualTo(new AdapterSign("example.test", "abc123", "mod_imlogger_inline 1, 7 stanza(s) held, heartbeat")));
        Assert.That((string?)result.Reply!.Attribute("type"), Is.EqualTo("result"));
        Assert.That((string?)result.Reply.Attribute("to"), Is.EqualTo("example.test"));
        Assert.That((string?)result.Reply.Attribute("id"), Is.EqualTo("imlogger-alive-1"));
    }

    [TestCase("alice@example.test/laptop", Description = "a user of the domain")]
    [TestCase("alice@example.test", Description = "a bare JID")]
    [TestCase("example.test/resource", Description = "the host with a resource")]
    [TestCase("conference.example.test", Description = "a subdomain")]
    [TestCase("EXAMPLE.test", Description = "another spelling: Prosody stamps hosts as configured")]
    [TestCase("evil.test", Description = "a federated server")]
    [TestCase("", Description = "no from")]
    public void AnyoneButTheHostItselfIsRefused(string from)
    {
        var result = Read(Alive(from))!;
        Assert.That(result.Sign, Is.Null);
        Assert.That(result.Rejected, Does.Contain("not a configured organization domain"));
        Assert.That((string?)result.Reply!.Attribute("type"), Is.EqualTo("error"), "an iq is always answered");
    }

    [Test]
    public void TheTapHeartbeatReturnedByTheRulesNamesTheirGeneration()
    {
        var sent = AdapterSignal.TapHeartbeat(Component, "example.test");
        Assert.That((string?)sent.Attribute("to"), Is.EqualTo("example.test/imlogger-alive"));
        Assert.That((string?)sent.Attribute("type"), Is.EqualTo("headline"), "never shown, never bounced to anyone");
        var result = Read(TapCopy("example.test", "example.test/imlogger-alive"))!;
        Assert.That(result.Sign, Is.EqualTo(new AdapterSign("example.test", "abc123", "tap rules (mod_firewall)")));
        Assert.That(result.Reply, Is.Null);
    }

    [Test]
    public void AHeartbeatForOneDomainRelayedByAnotherIsNotASign()
    {
        // partner.test's rules cannot prove example.test's are loaded.
        var result = Read(TapCopy("partner.test", "example.test/imlogger-alive"))!;
        Assert.That(result.Sign, Is.Null);
        Assert.That(result.Rejected, Is.Not.Null);
    }

    [Test]
    public void AForwardFromAnUntrustedRelayIsNotASign()
    {
        var result = Read(TapCopy("evil.test", "evil.test/imlogger-alive"))!;
        Assert.That(result.Sign, Is.Null);
        Assert.That(result.Rejected, Does.Contain("evil.test"));
    }

    [Test]
    public void AUsersCopyIsNotASignAndGoesToThePipeline()
    {
        // A client cannot make a copy whose inner stanza comes from the component: the server stamps 'from'.
        Assert.That(Read(TapCopy("example.test", "example.test/imlogger-alive", innerFrom: "alice@example.test/x")), Is.Null);
        Assert.That(Read("""<message xmlns="jabber:component:accept" from="example.test" to="archive.example.test"><forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client" from="alice@example.test/x" to="bob@example.test"><body>hi</body></message></forwarded></message>"""), Is.Null);
        Assert.That(Read("""<iq xmlns="jabber:component:accept" type="set" id="b1" from="example.test" to="archive.example.test"><batch xmlns="urn:imlogger:inline:0"/></iq>"""), Is.Null);
    }

    [Test]
    public void WhatTheAdapterSaysIsCleanedBeforeItReachesTheLog()
    {
        var xml = Alive("example.test").Replace("version=\"1\"", "version=\"1&#10;ERROR forged line http://x\"", StringComparison.Ordinal);
        var sign = Read(xml)!.Sign!;
        Assert.That(sign.Detail, Does.Not.Contain("\n").And.Not.Contain(" forged").And.Not.Contain(":"));
    }
}
