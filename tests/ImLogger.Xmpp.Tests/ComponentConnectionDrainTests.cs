using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>
/// <see cref="ComponentConnectionOptions.DrainOnStop"/>: a graceful stop closes our side first, then hands over what the
/// server still sends (copies it routed before the stop) until the server closes its side, or the bound passes.
/// </summary>
[CancelAfter(10_000)]
public class ComponentConnectionDrainTests
{
    [Test]
    public async Task WhatTheServerSendsAfterOurCloseIsHandedOverUntilItClosesItsSide()
    {
        await using var h = new Harness(o => o.DrainOnStop = TimeSpan.FromSeconds(5)).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        var stopping = h.StopAsync();
        // The server sees our close first, then sends what it had buffered, then its own close.
        await peer.ReadUntilAsync("</stream:stream>");
        Assert.That(h.Connection.IsConnected, Is.False, "nothing can be sent after our close");
        await peer.SendAsync("<message id='late-1'/><message id='late-2'/></stream:stream>");
        await stopping;

        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("late-1"));
        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("late-2"));
        Assert.That(h.Log.At(LogLevel.Information).Last(), Does.StartWith("Drained 2 stanza(s)").And.Contain("the server closed its side"));
        Assert.That(h.Log.Entries.Where(e => e.Level >= LogLevel.Warning), Is.Empty);
    }

    [Test]
    public async Task AConnectionDroppedWithoutTheEndOfTheStreamIsAWarning()
    {
        await using var h = new Harness(o => o.DrainOnStop = TimeSpan.FromSeconds(5)).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        var stopping = h.StopAsync();
        await peer.ReadUntilAsync("</stream:stream>");
        await peer.SendAsync("<message id='late-1'/>");
        peer.Dispose(); // Prosody killed, say: what it still had buffered is gone
        await stopping;

        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("late-1"));
        Assert.That(h.Log.At(LogLevel.Warning).Single(), Does.StartWith("Drained 1 stanza(s)").And.Contain("closed without the end of the stream").And.Contain("may still have had copies"));
    }

    [Test]
    public async Task AServerThatNeverClosesItsSideIsLeftAfterTheBoundWithAWarning()
    {
        await using var h = new Harness(o => o.DrainOnStop = TimeSpan.FromMilliseconds(300)).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        var stopping = h.StopAsync();
        await peer.ReadUntilAsync("</stream:stream>");
        await peer.SendAsync("<message id='late-1'/>");
        await stopping;

        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("late-1"));
        var warning = h.Log.At(LogLevel.Warning).Single();
        Assert.That(warning, Does.StartWith("Drained 1 stanza(s)").And.Contain("the server may still have had copies"));
    }

    [Test]
    public async Task WithoutDrainTheStopClosesAtOnce()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        await h.StopAsync();  // returns without the server closing anything
        Assert.That(await peer.ReadToEndAsync(), Does.EndWith("</stream:stream>"));
        Assert.That(h.Log.Entries.Any(e => e.Message.Contains("Drained", StringComparison.Ordinal)), Is.False);
    }

    [Test]
    public void ANegativeBoundIsRefused() =>
        Assert.Throws<ArgumentException>(() => _ = new Harness(o => o.DrainOnStop = TimeSpan.FromSeconds(-1)));
}
