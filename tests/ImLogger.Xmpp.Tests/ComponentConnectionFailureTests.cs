using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Xmpp.Tests;

[CancelAfter(10_000)]
public class ComponentConnectionFailureTests
{
    [Test]
    public async Task NotAuthorized_ThrowsFatal_AndLogsOneClearLineWithoutSecret()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.ReadHeaderAndDigestAsync("id1");
        await peer.SendStreamErrorAsync("not-authorized");

        var ex = Assert.ThrowsAsync<ComponentFatalException>(() => h.Run.WaitAsync(FakeServer.Timeout));
        Assert.That(ex!.Condition, Is.EqualTo("not-authorized"));
        var errors = h.Log.At(LogLevel.Error).ToList();
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Contain("component_secret").And.Contain("archive.example.test"));
        Assert.That(h.Log.At(LogLevel.Warning), Is.Empty, "no retry for a fatal error");
        ComponentConnectionTests.AssertNoSecretLogged(h.Log);
    }

    [Test]
    public async Task HostUnknown_IsFatal_AndSaysWhatToAdd()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.ReadUntilAsync("'archive.example.test'>");
        await peer.SendAsync(string.Format(FakePeer.ServerHeader, "x"));
        await peer.SendStreamErrorAsync("host-unknown");

        var ex = Assert.ThrowsAsync<ComponentFatalException>(() => h.Run.WaitAsync(FakeServer.Timeout));
        Assert.That(ex!.Condition, Is.EqualTo("host-unknown"));
        Assert.That(h.Log.At(LogLevel.Error).Single(), Does.Contain("Component \"archive.example.test\""));
    }

    [Test]
    public async Task Conflict_Reconnects_AndSecondAttemptSucceeds()
    {
        await using var h = new Harness().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.ReadHeaderAndDigestAsync("id1");
            await first.SendStreamErrorAsync("conflict", "Replaced by new connection");
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync("id2");
        await h.WaitConnectedAsync();

        var warning = h.Log.At(LogLevel.Warning).Single();
        Assert.That(warning, Does.Contain("another component is already connected as archive.example.test").And.Contain("retrying in"));
        Assert.That(h.Log.At(LogLevel.Error), Is.Empty);
        ComponentConnectionTests.AssertNoSecretLogged(h.Log);
    }

    [Test]
    public async Task ServerClosesSocketMidStanza_Reconnects_AndPartialStanzaIsNotDelivered()
    {
        await using var h = new Harness().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync();
            await first.SendAsync("<message id='partial'><body>hal");
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await second.SendAsync("<message id='whole'/>");

        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("whole"));
        Assert.That(h.Log.At(LogLevel.Warning).Single(), Does.Contain("lost the connection"));
        Assert.That(h.Log.At(LogLevel.Error), Is.Empty, "a disconnect is not malformed XML");
    }

    [Test]
    public async Task Doctype_WithBillionLaughs_IsRejected_AndClientReconnects()
    {
        const string lol = "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY lol 'lol'>" +
            "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>" +
            "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>" +
            "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='x'><message><body>&lol3;</body></message>";
        await using var h = new Harness().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.ReadUntilAsync("'archive.example.test'>");
            await first.SendAsync(lol);
            await first.ReadToEndAsync();
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await h.WaitConnectedAsync();

        Assert.That(h.Log.At(LogLevel.Error).Single(), Does.Contain("DTD"));
        Assert.That(h.Received.Reader.TryRead(out _), Is.False, "nothing from the hostile stream is delivered");
    }

    [Test]
    public async Task UndeclaredEntityInStanza_IsRejected_WithoutExpansion()
    {
        await using var h = new Harness().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync();
            await first.SendAsync("<message id='e'><body>&lol9;</body></message>");
            await first.ReadToEndAsync();
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await second.SendAsync("<message id='ok'/>");

        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("ok"));
        Assert.That(h.Log.At(LogLevel.Error).Single(), Does.Contain("lol9"));
    }

    [Test]
    public async Task InvalidUtf8_LogsErrorAndReconnects()
    {
        await using var h = new Harness().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync();
            await first.SendAsync([.. "<message><body>"u8.ToArray(), 0xC3, 0x28, 0xFF, .. "</body></message>"u8.ToArray()]);
            await first.ReadToEndAsync();
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await h.WaitConnectedAsync();
        await h.WaitConnectedAsync();

        Assert.That(h.Log.At(LogLevel.Error).Single(), Does.Contain("malformed"));
        Assert.That(h.Received.Reader.TryRead(out _), Is.False);
    }

    [Test]
    public async Task ConnectionRefused_LogsWarningWithWhatToCheck_AndKeepsRetrying()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        await using var h = new Harness(o => o.Port = port).Start();
        while (h.Log.At(LogLevel.Warning).Count() < 3)
            await Task.Delay(10).WaitAsync(FakeServer.Timeout);

        var warning = h.Log.At(LogLevel.Warning).First();
        Assert.That(warning, Does.StartWith($"cannot reach 127.0.0.1:{port} (connection refused)").And.Contain("retrying in").And.Contain("component_ports"));
        await h.StopAsync();
        ComponentConnectionTests.AssertNoSecretLogged(h.Log);
    }

    [Test]
    public async Task HandshakeTimeout_IsReported_AndRetried()
    {
        await using var h = new Harness(o => o.ConnectTimeout = TimeSpan.FromMilliseconds(200)).Start();
        using var silent = await h.Server.AcceptAsync(); // never answers the header
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await h.WaitConnectedAsync();

        Assert.That(h.Log.At(LogLevel.Warning).Single(), Does.Contain("did not complete the component handshake").And.Contain("5222"));
    }

    [Test]
    public async Task ServerClosesStreamCleanly_RepliesInKind_AndReconnects()
    {
        await using var h = new Harness().Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync();
            await first.SendAsync("</stream:stream>");
            Assert.That(await first.ReadToEndAsync(), Does.EndWith("</stream:stream>"));
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await h.WaitConnectedAsync();
        await h.WaitConnectedAsync();

        Assert.That(h.Log.At(LogLevel.Warning).Single(), Does.Contain("closed the stream").And.Contain("retrying in"));
    }
}
