namespace ImLogger.Xmpp.Tests;

public class CountingStreamTests
{
    [Test]
    [CancelAfter(5_000)]
    public async Task FailsTheReadThatCrossesTheCap_WithoutReadingFurther()
    {
        var inner = new MemoryStream(new byte[10_000]);
        var counting = new CountingStream(inner, 2_500);
        var buffer = new byte[1_000];
        counting.EndStanza();
        counting.BeginStanza();
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000));
        Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000));
        Assert.ThrowsAsync<StanzaTooLargeException>(async () => Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000)));
        Assert.That(inner.Position, Is.EqualTo(3_000), "nothing beyond the offending read was consumed");
    }

    [Test]
    [CancelAfter(5_000)]
    public async Task EndStanza_ResetsTheCount_AndEndOfStreamIsNoticed()
    {
        var counting = new CountingStream(new MemoryStream(new byte[3_000]), 1_500);
        var buffer = new byte[1_000];
        counting.EndStanza();
        for (var i = 0; i < 3; i++)
        {
            counting.BeginStanza();
            Assert.That(await counting.ReadAsync(buffer), Is.EqualTo(1_000));
            counting.EndStanza();
        }
        Assert.That(await counting.ReadAsync(buffer), Is.Zero);
        Assert.That(counting.EndOfStreamReached, Is.True);
    }
}
