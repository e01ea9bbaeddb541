using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ImLogger.Xmpp.Tests;

[CancelAfter(10_000)]
public class ComponentConnectionTests
{
    private static readonly XNamespace Accept = "jabber:component:accept";

    private static void AssertNoSecretLogged(ListLogger<ComponentConnection> log)
    {
        foreach (var (_, message, exception) in log.Entries)
        {
            Assert.That(message, Does.Not.Contain(Harness.Secret));
            Assert.That(exception?.ToString() ?? "", Does.Not.Contain(Harness.Secret));
        }
    }

    [Test]
    public async Task Handshake_SendsHeaderAndExactDigest_ThenIsConnected()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();

        var (header, digest) = await peer.HandshakeAsync("3BF96D32");
        await h.WaitConnectedAsync();

        Assert.That(header, Is.EqualTo("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' " +
            "xmlns:stream='http://etherx.jabber.org/streams' to='archive.example.test'>"));
        var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("3BF96D32" + Harness.Secret)));
        Assert.That(digest, Is.EqualTo(expected));
        Assert.That(h.Connection.IsConnected, Is.True);
        await h.StopAsync();
        Assert.That(h.Connection.IsConnected, Is.False);
        AssertNoSecretLogged(h.Log);
        Assert.That(h.Log.Entries.Select(e => e.Message), Has.None.Contains(digest));
    }

    [Test]
    public async Task Stanzas_AreDeliveredInOrder_OneAtATime()
    {
        var inHandler = 0;
        var maxConcurrent = 0;
        var received = new List<XElement>();
        var done = new TaskCompletionSource();
        await using var h = new Harness();
        h.Start(async (e, ct) =>
        {
            maxConcurrent = Math.Max(maxConcurrent, Interlocked.Increment(ref inHandler));
            await Task.Delay(20, ct);
            received.Add(e);
            Interlocked.Decrement(ref inHandler);
            if (received.Count == 3) done.SetResult();
        });
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();

        // Two stanzas in one write, the third split across writes, with whitespace keepalives between.
        await peer.SendAsync("<message from='a@example.test' id='1'><body>one</body></message> \n<presence from='b@example.test' id='2'/>");
        await peer.SendAsync(" <iq type='get' id='3'><query xmlns='urn:x'><item>th");
        await Task.Delay(30);
        await peer.SendAsync("ree &amp; é</item></query></iq>");
        await done.Task.WaitAsync(FakeServer.Timeout);

        Assert.That(received.Select(e => (string?)e.Attribute("id")), Is.EqualTo(new[] { "1", "2", "3" }));
        Assert.That(received.Select(e => e.Name), Is.EqualTo(new[] { Accept + "message", Accept + "presence", Accept + "iq" }));
        Assert.That(received[0].Element(Accept + "body")!.Value, Is.EqualTo("one"));
        Assert.That(received[2].Element((XNamespace)"urn:x" + "query")!.Value, Is.EqualTo("three & é"));
        Assert.That(maxConcurrent, Is.EqualTo(1));
    }

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
        AssertNoSecretLogged(h.Log);
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
        AssertNoSecretLogged(h.Log);
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
    public async Task StanzaOverMaxBytes_DropsConnection_LaterStanzasStillDelivered()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 8 * 1024).Start();
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync();
            await first.SendAsync("<message id='small1'/>");
            Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("small1"));
            var big = $"<message id='big'><body>{new string('x', 200 * 1024)}</body></message>";
            try { await first.SendAsync(big); }
            catch (IOException) { /* the client may reset while we are still writing */ }
            await first.ReadToEndAsync(); // the client hangs up
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await second.SendAsync("<message id='small2'/>");

        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("small2"));
        Assert.That(h.Log.At(LogLevel.Error).Single(), Does.Contain("larger than 8192 bytes"));
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
    public async Task WhitespaceKeepalive_IsSentWhenIdle()
    {
        var time = new FakeTimeProvider();
        await using var h = new Harness(o => o.KeepAliveInterval = TimeSpan.FromSeconds(60), time).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        Assert.That(await peer.TryReadAsync(TimeSpan.FromMilliseconds(100)), Is.EqualTo(-1), "nothing before the interval elapses");
        var got = -1;
        for (var i = 0; i < 50 && got < 0; i++)
        {
            time.Advance(TimeSpan.FromSeconds(60));
            got = await peer.TryReadAsync(TimeSpan.FromMilliseconds(50));
        }
        Assert.That(got, Is.GreaterThan(0));
        Assert.That(peer.Pending.Trim(' '), Is.Empty, "only spaces are sent as keepalive");
    }

    [Test]
    public async Task SendAsync_WritesStanzaByteForByte()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        var stanza = new XElement(Accept + "message",
            new XAttribute("to", "alice@example.test"), new XAttribute("type", "chat"),
            new XElement(Accept + "body", "hi & <bye>"),
            new XElement((XNamespace)"urn:xmpp:receipts" + "request"));
        await h.Connection.SendAsync(stanza, CancellationToken.None);
        await h.Connection.SendAsync(new XElement("presence", new XAttribute("id", "p1")), CancellationToken.None);

        var expected = "<message to=\"alice@example.test\" type=\"chat\"><body>hi &amp; &lt;bye&gt;</body><request xmlns=\"urn:xmpp:receipts\" /></message>" +
            "<presence id=\"p1\" />";
        Assert.That(await peer.ReadUntilAsync("<presence id=\"p1\" />"), Is.EqualTo(expected));
    }

    [Test]
    public async Task SendAsync_WhenNotConnected_Throws()
    {
        await using var h = new Harness();
        Assert.ThrowsAsync<ComponentNotConnectedException>(async () => await h.Connection.SendAsync(new XElement("message"), CancellationToken.None));
    }

    [Test]
    public async Task Cancellation_ClosesStreamAndReturnsQuietly()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        await h.StopAsync();

        Assert.That(await peer.ReadToEndAsync(), Does.EndWith("</stream:stream>"));
        Assert.That(h.Log.Entries.Where(e => e.Level >= LogLevel.Warning), Is.Empty);
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
        AssertNoSecretLogged(h.Log);
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
    public async Task HandlerException_EndsRunWithThatException()
    {
        await using var h = new Harness();
        h.Start((_, _) => throw new InvalidOperationException("archive full"));
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await peer.SendAsync("<message/>");

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => h.Run.WaitAsync(FakeServer.Timeout));
        Assert.That(ex!.Message, Is.EqualTo("archive full"));
        Assert.That(await peer.ReadToEndAsync(), Does.EndWith("</stream:stream>"));
    }

    [Test]
    public void Constructor_RejectsMissingSecretAndNonDomainJid()
    {
        var log = new ListLogger<ComponentConnection>();
        Assert.Throws<ArgumentException>(() => _ = new ComponentConnection(new() { ComponentJid = "archive.example.test" }, log));
        Assert.Throws<ArgumentException>(() => _ = new ComponentConnection(new() { ComponentJid = "user@example.test", Secret = "x" }, log));
    }
}
