namespace ImLogger.Xmpp.Tests;

public class JidTests
{
    [Test]
    public void Parse_FullJid_SplitsAndLowercasesLocalAndDomain()
    {
        var jid = Jid.Parse("Alice@Example.TEST/Phone@Home/1");
        Assert.Multiple(() =>
        {
            Assert.That(jid.Local, Is.EqualTo("alice"));
            Assert.That(jid.Domain, Is.EqualTo("example.test"));
            Assert.That(jid.Resource, Is.EqualTo("Phone@Home/1"), "resource keeps case, '@' and '/'");
            Assert.That(jid.Bare, Is.EqualTo(Jid.Parse("alice@example.test")));
            Assert.That(jid.ToString(), Is.EqualTo("alice@example.test/Phone@Home/1"));
            Assert.That(jid.IsBare, Is.False);
        });
    }

    [Test]
    public void Parse_DomainOnly_AndTrailingDotIsStripped()
    {
        var jid = Jid.Parse("archive.example.test.");
        Assert.That((jid.Local, jid.Domain, jid.Resource), Is.EqualTo(((string?)null, "archive.example.test", (string?)null)));
        Assert.That(jid.ToString(), Is.EqualTo("archive.example.test"));
    }

    [Test]
    public void Equality_IsByValue()
        => Assert.That(Jid.Parse("BOB@example.test/r"), Is.EqualTo(Jid.Parse("bob@EXAMPLE.test/r")));

    [TestCase("")]
    [TestCase("@example.test")]
    [TestCase("alice@")]
    [TestCase("alice@/r")]
    [TestCase("example.test/")]
    [TestCase("/resource")]
    [TestCase("a@b@c")]
    [TestCase(".")]
    public void TryParse_RejectsInvalid(string text)
    {
        Assert.That(Jid.TryParse(text, out _), Is.False);
        Assert.Throws<FormatException>(() => Jid.Parse(text));
    }

    [Test]
    public void TryParse_EnforcesThe1023BytePartLimit()
    {
        Assert.That(Jid.TryParse(new string('a', 1023) + "@example.test", out _), Is.True);
        Assert.That(Jid.TryParse(new string('a', 1024) + "@example.test", out _), Is.False);
        Assert.That(Jid.TryParse(new string('é', 512) + "@example.test", out _), Is.False, "the limit is in UTF-8 bytes");
        Assert.That(Jid.TryParse("example.test/" + new string('r', 1024), out _), Is.False);
        Assert.That(Jid.TryParse(null, out _), Is.False);
    }
}
