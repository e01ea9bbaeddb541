using System.Xml.Linq;

namespace ImLogger.Xmpp.Tests;

public class StreamErrorTests
{
    // RFC 6120 section 4.9.3, all defined conditions.
    private static readonly string[] Conditions =
    [
        "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone", "host-unknown",
        "improper-addressing", "internal-server-error", "invalid-from", "invalid-namespace", "invalid-xml",
        "not-authorized", "not-well-formed", "policy-violation", "remote-connection-failed", "reset",
        "resource-constraint", "restricted-xml", "see-other-host", "system-shutdown", "undefined-condition",
        "unsupported-encoding", "unsupported-feature", "unsupported-stanza-type", "unsupported-version",
    ];

    private static XElement Error(string inner) => XElement.Parse(
        $"<stream:error xmlns:stream='http://etherx.jabber.org/streams'>{inner}</stream:error>");

    [Test]
    public void Parse_ReadsConditionAndText()
    {
        var error = StreamError.Parse(Error(
            "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bad secret</text>"));
        Assert.That(error, Is.EqualTo(new StreamError("not-authorized", "bad secret")));
        Assert.That(error.IsFatal, Is.True);
    }

    [Test]
    public void Parse_WithoutCondition_IsUndefined()
        => Assert.That(StreamError.Parse(Error("<foo xmlns='urn:app'/>")), Is.EqualTo(new StreamError("undefined-condition", null)));

    [Test]
    public void Parse_SeeOtherHost_KeepsTheNewHost()
    {
        var error = StreamError.Parse(Error("<see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>other.example:5347</see-other-host>"));
        Assert.That(error.Explain(), Does.Contain("other.example:5347"));
    }

    [TestCaseSource(nameof(Conditions))]
    public void EveryCondition_HasItsOwnExplanation(string condition)
    {
        var text = new StreamError(condition, null).Explain("archive.example.test");
        Assert.That(text, Does.Not.Contain("unrecognised"));
        var others = Conditions.Where(c => c != condition).Select(c => new StreamError(c, null).Explain("archive.example.test"));
        Assert.That(others, Has.None.EqualTo(text));
    }

    [Test]
    public void Explanations_NameWhatToFix()
    {
        Assert.That(new StreamError("not-authorized", null).Explain("archive.example.test"), Is.EqualTo(
            "the server refused the component's handshake: the secret in ImLogger's config does not match component_secret for archive.example.test in Prosody's config"));
        Assert.That(new StreamError("host-unknown", null).Explain("x.example"), Is.EqualTo(
            "the server does not know the component domain 'x.example': add `Component \"x.example\"` to its config"));
        Assert.That(new StreamError("conflict", null).Explain("x.example"), Does.StartWith("another component is already connected as x.example"));
        Assert.That(new StreamError("system-shutdown", "bye").Explain(), Does.Contain("\"bye\""));
    }

    [TestCase("not-authorized", true)]
    [TestCase("host-unknown", true)]
    [TestCase("improper-addressing", true)]
    [TestCase("invalid-namespace", true)]
    [TestCase("conflict", false)]
    [TestCase("system-shutdown", false)]
    [TestCase("remote-connection-failed", false)]
    [TestCase("connection-timeout", false)]
    [TestCase("something-new", false)]
    public void IsFatal_OnlyForErrorsReconnectingCannotFix(string condition, bool fatal)
        => Assert.That(new StreamError(condition, null).IsFatal, Is.EqualTo(fatal));
}
