using System.Text;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>
/// What a hostile or broken server stream does to the component's parser: entity expansion, a start tag over the hard
/// token cap, nesting over the hard depth limit, invalid UTF-8, a flood. In each case the connection refuses the input,
/// logs one clear reason, keeps its memory bounded, reconnects, and the next well-formed stanza is delivered. Stanzas
/// merely over the per-stanza limits do not come here: StanzaLimitTests shows them skipped alone on the same stream.
/// </summary>
[TestFixture]
public class HostileInputTests
{
    /// <summary>Sends <paramref name="hostile"/> on the first stream, then checks that exactly one error naming
    /// <paramref name="reason"/> was logged and that a stanza on the next stream is delivered.</summary>
    private static async Task AssertRefusedOnceAndRecoveredAsync(Harness h, Func<FakePeer, Task> hostile, string reason)
    {
        using (var first = await h.Server.AcceptAsync())
        {
            await first.HandshakeAsync();
            try { await hostile(first); }
            catch (IOException) { /* the component may reset while we are still writing */ }
            catch (TimeoutException) { /* it stopped reading: TCP pushed back */ }
        }
        using var second = await h.Server.AcceptAsync();
        await second.HandshakeAsync();
        await second.SendAsync("<message id='after'/>");
        Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo("after"), "traffic after the hostile stanza is delivered");
        var errors = h.Log.At(LogLevel.Error).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), h.Log.ToString());
        Assert.That(errors[0], Does.Contain(reason));
        Assert.That(h.Run.IsFaulted, Is.False, "the connection keeps running");
    }

    [Test]
    public async Task BillionLaughs_IsRefusedWithoutExpansion()
    {
        await using var h = new Harness().Start();
        var laughs = new StringBuilder("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for (var i = 1; i < 10; i++)
            laughs.Append(CultureInfoInvariant($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : i - 1)};", 10))}\">"));
        laughs.Append("]><message id='lol'><body>&lol9;</body></message>");
        await AssertRefusedOnceAndRecoveredAsync(h, p => p.SendAsync(laughs.ToString()), "malformed or forbidden XML");
    }

    private static string CultureInfoInvariant(FormattableString s) => s.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Test, CancelAfter(60_000)]
    public async Task TokenOverTheHardCap_DropsTheConnectionWithoutBufferingIt()
    {
        await using var h = new Harness(o => o.MaxTokenBytes = 1024 * 1024).Start();
        long sent = 0;
        var chunk = Encoding.ASCII.GetBytes(new string('x', 1024 * 1024));
        await AssertRefusedOnceAndRecoveredAsync(h, async p =>
        {
            await p.SendAsync("<message id='huge' to='");
            for (var i = 0; i < 100; i++)
            {
                await p.SendAsync(chunk);
                sent += chunk.Length;
            }
        }, "larger than 1048576 bytes");
        Assert.That(sent, Is.LessThan(100L * 1024 * 1024), "the component stopped reading long before the end of the start tag");
    }

    [Test]
    public async Task NestingBeyondTheHardLimit_DropsTheConnectionBeforeItCanExhaustMemory()
    {
        await using var h = new Harness().Start();
        const int depth = StanzaReader.HardMaxDepth + 1; // 700 KB: under the size limit, so only the hard depth limit stops it
        var nested = new StringBuilder("<message id='deep'>");
        for (var i = 0; i < depth; i++) nested.Append("<a>");
        for (var i = 0; i < depth; i++) nested.Append("</a>");
        nested.Append("</message>");
        await AssertRefusedOnceAndRecoveredAsync(h, p => p.SendAsync(nested.ToString()), "nested deeper than");
    }

    [Test]
    public async Task InvalidUtf8_IsRefused()
    {
        await using var h = new Harness().Start();
        var bytes = Encoding.UTF8.GetBytes("<message id='bad'><body>caf").Concat(new byte[] { 0xC3, 0x28, 0xFF }).Concat(Encoding.UTF8.GetBytes("</body></message>")).ToArray();
        await AssertRefusedOnceAndRecoveredAsync(h, p => p.SendAsync(bytes), "malformed or forbidden XML");
    }

    [Test, CancelAfter(60_000)]
    public async Task FloodFromOneSender_IsDeliveredInOrderAndOthersAreNotStarved()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        const int flood = 20_000;
        var text = new StringBuilder();
        for (var i = 0; i < flood; i++) text.Append("<message from='mallory@example.test/x' id='f").Append(i).Append("'><body>spam</body></message>");
        text.Append("<message from='alice@example.test/laptop' id='alice'><body>hello</body></message>");
        var sending = peer.SendAsync(Encoding.UTF8.GetBytes(text.ToString()));
        var last = -1;
        for (var i = 0; i <= flood; i++)
        {
            var stanza = await h.NextStanzaAsync();
            var id = (string)stanza.Attribute("id")!;
            if (id == "alice") { Assert.That(last, Is.EqualTo(flood - 1), "in order, nothing dropped"); break; }
            var n = int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(n, Is.EqualTo(last + 1));
            last = n;
        }
        await sending;
        Assert.That(h.Log.At(LogLevel.Error).Concat(h.Log.At(LogLevel.Warning)), Is.Empty, "a flood of well-formed stanzas is not an error");
    }
}
