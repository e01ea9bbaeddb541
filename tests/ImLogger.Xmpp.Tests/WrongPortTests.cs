using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>Pointed at Prosody's c2s or s2s listener instead of its component port: the diagnosis names the port, not
/// the component domain or a bug. Prosody 0.12 answers a <c>jabber:component:accept</c> header on either listener with its
/// own stream header (<c>jabber:client</c> or <c>jabber:server</c>) and <c>host-unknown</c>, as recorded by hand.</summary>
[CancelAfter(10_000)]
public class WrongPortTests
{
    private const string Header =
        "<?xml version='1.0'?><stream:stream xmlns='{0}' xmlns:stream='http://etherx.jabber.org/streams' id='x1' from='archive.example.test' version='1.0'>";

    [TestCase("jabber:client", "host-unknown", "client (c2s) port")]
    [TestCase("jabber:server", "host-unknown", "server-to-server (s2s) port")] // what Prosody 0.12's s2s listener answers
    [TestCase("jabber:server", "invalid-namespace", "server-to-server (s2s) port")]
    [TestCase("jabber:client", null, "client (c2s) port")]
    public async Task AClientOrServerStreamIsDiagnosedAsTheWrongPort(string streamNamespace, string? error, string listener)
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.ReadUntilAsync("'archive.example.test'>");
        await peer.SendAsync(string.Format(Header, streamNamespace));
        if (error is not null) await peer.SendStreamErrorAsync(error);

        var ex = Assert.ThrowsAsync<ComponentFatalException>(() => h.Run.WaitAsync(FakeServer.Timeout))!;
        Assert.That(ex.Condition, Is.EqualTo(ComponentConnection.WrongPortCondition));
        var errors = h.Log.At(LogLevel.Error).ToList();
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Contain($"port {h.Options.Port} is Prosody's {listener}, not its component port")
            .And.Contain("component_ports (5347 by default)")
            .And.Not.Contain("bug").And.Not.Contain("component domain"));
        Assert.That(h.Log.At(LogLevel.Warning), Is.Empty, "no retry: the port in the config must change");
    }

    [Test]
    public async Task TheComponentNamespaceStillConnects()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.ReadUntilAsync("'archive.example.test'>");
        await peer.SendAsync(string.Format(Header, "jabber:component:accept"));
        await peer.ReadUntilAsync("</handshake>");
        await peer.SendAsync("<handshake/>");
        await h.WaitConnectedAsync();
    }
}
