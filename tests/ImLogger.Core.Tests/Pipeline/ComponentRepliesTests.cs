using System.Xml.Linq;
using ImLogger.Envelope;
using ImLogger.Pipeline;

namespace ImLogger.Tests.Pipeline;

public class ComponentRepliesTests
{
    [Test]
    public void PingIsAnswered()
    {
        var reply = ComponentReplies.For(XElement.Parse("<iq xmlns='jabber:component:accept' type='get' id='p1' from='alice@example.test/l' to='archive.example.test'><ping xmlns='urn:xmpp:ping'/></iq>"))!;
        Assert.That((string?)reply.Attribute("type"), Is.EqualTo("result"));
        Assert.That((string?)reply.Attribute("id"), Is.EqualTo("p1"));
        Assert.That((string?)reply.Attribute("to"), Is.EqualTo("alice@example.test/l"));
        Assert.That((string?)reply.Attribute("from"), Is.EqualTo("archive.example.test"));
    }

    [Test]
    public void UnknownRequestGetsServiceUnavailable()
    {
        var reply = ComponentReplies.For(XElement.Parse("<iq xmlns='jabber:component:accept' type='set' id='x' from='a@example.test/l' to='archive.example.test'><query xmlns='jabber:iq:register'/></iq>"))!;
        Assert.That((string?)reply.Attribute("type"), Is.EqualTo("error"));
        Assert.That(reply.Element(Ns.Component + "error")!.Element(Ns.Stanzas + "service-unavailable"), Is.Not.Null);
    }

    [Test]
    public void DiscoInfoNamesTheService()
    {
        var reply = ComponentReplies.For(XElement.Parse("<iq xmlns='jabber:component:accept' type='get' id='d' from='a@example.test/l' to='archive.example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"))!;
        Assert.That(reply.ToString(), Does.Contain("ImLogger compliance archive"));
    }

    [TestCase("<iq xmlns='jabber:component:accept' type='result' id='r'/>")]
    [TestCase("<message xmlns='jabber:component:accept' from='a@example.test/l' to='archive.example.test'><body>hi</body></message>")]
    public void NonRequestsGetNoReply(string xml) => Assert.That(ComponentReplies.For(XElement.Parse(xml)), Is.Null);
}
