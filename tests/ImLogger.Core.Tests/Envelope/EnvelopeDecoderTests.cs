using System.Xml.Linq;
using ImLogger.Envelope;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Tests.Envelope;

public class EnvelopeDecoderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private readonly EnvelopeDecoder _decoder = new(["example.test"], "archive.example.test", new FakeTimeProvider(Now));

    private static XElement Copy(string relay, string inner) => XElement.Parse(
        $"<message xmlns='jabber:component:accept' from='{relay}' to='archive.example.test'><forwarded xmlns='urn:xmpp:forward:0'>{inner}</forwarded></message>");

    [Test]
    public void CopyIsUnwrappedAndStampedOnReceipt()
    {
        var (env, _, _) = _decoder.Decode(Copy("example.test", "<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test'><body>hi</body></message>"));
        Assert.That(env, Is.Not.Null);
        Assert.That(env!.Stanza.Name, Is.EqualTo(Ns.Client + "message"));
        Assert.That(env.ReceivedUtc, Is.EqualTo(Now));
        Assert.That(env.Relay, Is.EqualTo("example.test"));
    }

    [TestCase("evil.test", "<message xmlns='jabber:client' from='a@example.test/x' to='b@example.test'/>", EnvelopeRejection.UntrustedRelay)]
    [TestCase("example.test", "<message xmlns='jabber:client' from='archive.example.test' to='alice@example.test'><body>notice</body></message>", EnvelopeRejection.OwnStanza)]
    [TestCase("example.test", "<message xmlns='jabber:client' from='a@example.test/x'/><message xmlns='jabber:client' from='a@example.test/x'/>", EnvelopeRejection.Malformed)]
    [TestCase("example.test", "<message xmlns='jabber:server' from='a@example.test/x'/>", EnvelopeRejection.Malformed)]
    [TestCase("example.test", "", EnvelopeRejection.Malformed)]
    public void WhatIsNotATrustedCopyIsRefusedWithAReason(string relay, string inner, EnvelopeRejection expected)
    {
        var (env, rejection, reason) = _decoder.Decode(Copy(relay, inner));
        Assert.That(env, Is.Null);
        Assert.That(rejection, Is.EqualTo(expected));
        Assert.That(reason, Is.Not.Empty);
    }

    [Test]
    public void StanzaAddressedToTheComponentIsNotACopy()
    {
        var (env, rejection, _) = _decoder.Decode(XElement.Parse("<iq xmlns='jabber:component:accept' from='alice@example.test/l' to='archive.example.test' type='get' id='1'/>"));
        Assert.That(env, Is.Null);
        Assert.That(rejection, Is.EqualTo(EnvelopeRejection.NotACopy));
    }
}
