namespace ImLogger.Xmpp.Tests;

public class ComponentHandshakeTests
{
    [Test]
    public void ComputeDigest_MatchesTheSha1TestVector()
        => Assert.That(ComponentHandshake.ComputeDigest("ab", "c"), Is.EqualTo("a9993e364706816aba3e25717850c26c9cd0d89d"));

    [Test]
    public void ComputeDigest_EncodesUtf8()
        // SHA-1 of the UTF-8 bytes of "é" (c3 a9).
        => Assert.That(ComponentHandshake.ComputeDigest("", "é"), Is.EqualTo(Convert.ToHexStringLower(
            System.Security.Cryptography.SHA1.HashData(new byte[] { 0xC3, 0xA9 }))));
}
