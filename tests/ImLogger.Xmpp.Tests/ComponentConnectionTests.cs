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

    internal static void AssertNoSecretLogged(ListLogger<ComponentConnection> log)
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
    public async Task WhitespaceKeepalive_CountsSilenceFromTheLastWrite_AndRepeats()
    {
        var time = new FakeTimeProvider();
        await using var h = new Harness(o => o.KeepAliveInterval = TimeSpan.FromSeconds(60), time).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        // Traffic every 40 s: the line is never silent for 60 s, so no keepalive, although 120 s pass in all.
        for (var i = 1; i <= 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(40));
            await h.Connection.SendAsync(new XElement("message", new XAttribute("id", $"m{i}")), CancellationToken.None);
            Assert.That(await peer.ReadUntilAsync($"<message id=\"m{i}\" />"), Is.EqualTo($"<message id=\"m{i}\" />"),
                "a keepalive went out although the line carried a stanza less than 60 s before");
        }
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.That(await peer.TryReadAsync(TimeSpan.FromMilliseconds(150)), Is.EqualTo(-1), "40 s after the last stanza: nothing yet");

        // 60 s after the last stanza the keepalive is due; then again after each 60 s of silence.
        for (var round = 1; round <= 2; round++)
        {
            var got = -1;
            for (var i = 0; i < 40 && got < 0; i++)
            {
                time.Advance(TimeSpan.FromSeconds(round == 1 && i == 0 ? 20 : 60));
                got = await peer.TryReadAsync(TimeSpan.FromMilliseconds(50));
            }
            Assert.That(got, Is.GreaterThan(0), $"keepalive {round} never came");
            Assert.That(peer.Pending.Trim(' '), Is.Empty, "only spaces are sent as keepalive");
        }
    }

    [Test]
    public async Task WhitespaceKeepalive_NeverWaitsBehindAFullQueue()
    {
        // Attack: the writer cannot write (the peer does not read) and the queue fills. The keepalive must not block or
        // fault anything, and the stanzas queued before it stay in order once the peer reads again.
        var time = new FakeTimeProvider();
        await using var h = new Harness(o => o.KeepAliveInterval = TimeSpan.FromSeconds(60), time).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await h.WaitConnectedAsync();

        const int count = 1000; // 8 MB: more than the socket buffers and the 256-stanza queue hold
        var big = new string('x', 8 * 1024);
        var sends = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
                await h.Connection.SendAsync(new XElement("message", new XAttribute("id", $"b{i}"), new XElement("body", big)), CancellationToken.None);
        });
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromSeconds(61));
            await Task.Delay(20);
        }
        Assert.That(sends.IsCompleted, Is.False, "the queue is full: the sender waits (the test's premise)");
        var expected = $"<body>{big}</body></message>";
        for (var i = 0; i < count; i++)
        {
            var stanza = (await peer.ReadUntilAsync("</message>")).Trim(' ');
            Assert.That(stanza, Is.EqualTo($"<message id=\"b{i}\">" + expected), $"stanza {i} whole and in order (keepalives only between stanzas)");
        }
        await sends.WaitAsync(FakeServer.Timeout);
        Assert.That(h.Run.IsCompleted, Is.False, "the stream is still up");
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
