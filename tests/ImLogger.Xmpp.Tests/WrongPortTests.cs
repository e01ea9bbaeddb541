using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>Pointed at Prosody's c2s or s2s listener instead of its component port: the diagnosis names the port, not
/// the component domain or a bug. Prosody 0.12 answers a <c>jabber:component:accept</c> header on either listener with its
/// own stream header (<c>jabber:client</c> or <c>jabber:server</c>) and <c>host-unknown</c>, as recorded by hand. Retried:
/// the fix may be on Prosody's side (its component_ports), and a stopped service would not see it.</summary>
[CancelAfter(10_000)]
public class WrongPortTests
{
    private const string Header =
        "<?xml version='1.0'?><stream:stream xmlns='{0}' xmlns:stream='http://etherx.jabber.org/streams' id='x1' from='archive.example.test' version='1.0'>";

    [TestCase("jabber:client", "host-unknown", "client (c2s) port")]
    [TestCase("jabber:server", "host-unknown", "server-to-server (s2s) port")] // what Prosody 0.12's s2s listener answers
    [TestCase("jabber:server", "invalid-namespace", "server-to-server (s2s) port")]
    [TestCase("jabber:client", null, "client (c2s) port")]
    public async Task AClientOrServerStreamIsDiagnosedAsTheWrongPortAndRetried(string streamNamespace, string? error, string listener)
    {
        await using var h = new Harness().Start();
        // Twice the wrong listener, then the operator gave Prosody the component port (and restarted it): it attaches.
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            using var wrong = await h.Server.AcceptAsync();
            await wrong.ReadUntilAsync("'archive.example.test'>");
            await wrong.SendAsync(string.Format(Header, streamNamespace));
            if (error is not null) await wrong.SendStreamErrorAsync(error);
        }
        using var peer = await h.Server.AcceptAsync();
        await peer.ReadUntilAsync("'archive.example.test'>");
        await peer.SendAsync(string.Format(Header, "jabber:component:accept"));
        await peer.ReadUntilAsync("</handshake>");
        await peer.SendAsync("<handshake/>");
        await h.WaitConnectedAsync();

        Assert.That(h.Run.IsCompleted, Is.False, "a wrong port is retried, never the end of the service");
        var errors = h.Log.At(LogLevel.Error).ToList();
        Assert.That(errors, Has.Count.EqualTo(2), "once per attempt");
        Assert.That(errors[0], Does.Contain($"port {h.Options.Port} is Prosody's {listener}, not its component port")
            .And.Contain("component_ports (5347 by default)")
            .And.Not.Contain("bug").And.Not.Contain("component domain"));
        Assert.That(h.Log.At(LogLevel.Warning), Has.Some.Contains("is not a component port; retrying"));
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
