namespace ImLogger.Xmpp.Tests;

public class CountingStreamTests
{
    [Test]
    [CancelAfter(5_000)]
    public async Task FailsTheReadThatCrossesTheTokenCap_WithoutReadingFurther()
    {
        var inner = new MemoryStream(new byte[10_000]);
        var counting = new CountingStream(inner, 2_500);
        var buffer = new byte[1_000];
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000));
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000));
        Assert.ThrowsAsync<TokenTooLargeException>(async () => Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000)));
        Assert.That(inner.Position, Is.EqualTo(3_000), "nothing beyond the offending read was consumed");
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task MarkToken_ResetsTheHardCount_ButTheStanzaCountGoesOnUntilEndStanza()
    {
        var counting = new CountingStream(new MemoryStream(new byte[3_000]), 1_500);
        var buffer = new byte[1_000];
        for (var i = 0; i < 3; i++)
        {
            Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000));
            counting.MarkToken();
        }
        Assert.That(counting.StanzaBytes, Is.EqualTo(3_000), "a stanza may be larger than the token cap: that limit is the reader's, and soft");
        counting.EndStanza();
        Assert.That(counting.StanzaBytes, Is.Zero);
        Assert.That(await counting.ReadAsync(buffer), Is.Zero);
        Assert.That(counting.EndOfStreamReached, Is.True);
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task ReadsAtMostMaxRead_SoThatTheParserNeverReadsFarAhead()
    {
        var counting = new CountingStream(new MemoryStream(new byte[100_000]), 1_000_000);
        Assert.That(await counting.ReadAsync(new byte[65_536]), Is.EqualTo(CountingStream.MaxRead));
    }
}
