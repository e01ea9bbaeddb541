using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Xmpp.Tests;

/// <summary>Tap mode's read pause through the real connection and parser: what arrives during a pause, whole or in
/// pieces, is delivered in order once it ends, and a stop does not wait for it.</summary>
[CancelAfter(10_000)]
public class ComponentConnectionReadPauseTests
{
    [Test]
    public async Task StanzasArrivingDuringAPause_AreDeliveredInOrderWhenItEnds_EvenSplitAcrossWrites()
    {
        var time = new FakeTimeProvider();
        await using var h = new Harness(o => o.ReadPause = TimeSpan.FromHours(1), time).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        await peer.SendAsync("<message from='a@example.test' id='1'><body>one</body></message>");
        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("1"), "the first stanza after a quiet spell is read at once");

        await peer.SendAsync("<message from='a@example.test' id='2'><body>two</body></message>");
        await peer.SendAsync("<message from='a@example.test' id='3'><body>th");
        await Task.Delay(200);
        Assert.That(h.Received.Reader.TryRead(out _), Is.False, "that read drained the socket: the next waits for the pause");

        time.Advance(TimeSpan.FromHours(1));
        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("2"));
        await peer.SendAsync("ree</body></message>");
        time.Advance(TimeSpan.FromHours(1)); // the half stanza drained the socket again
        var third = await h.NextStanzaAsync();
        Assert.That(((string?)third.Attribute("id"), third.Value), Is.EqualTo(("3", "three")));
        await h.StopAsync(); // a stop during a pause does not wait for it
    }
}
