using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>
/// Per-stanza limits, never per-connection: a stanza too deep or too large is passed on alone, kept up to the limit and
/// marked, and the stanzas after it arrive on the SAME stream (the fake server accepts one connection and no other).
/// </summary>
[TestFixture]
public class StanzaLimitTests
{
    private static readonly XNamespace Client = "jabber:client";
    private static readonly XNamespace Forward = "urn:xmpp:forward:0";

    /// <summary>Connects once, sends <paramref name="hostile"/> then 100 normal stanzas, and returns the hostile one as
    /// delivered after checking that the others followed in order, on the same stream, without an error.</summary>
    private static async Task<XElement> DeliverThenFollowAsync(Harness h, Func<FakePeer, Task> hostile)
    {
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await hostile(peer);
        var after = new StringBuilder();
        for (var i = 0; i < 100; i++) after.Append("<message id='after-").Append(i).Append("'><body>hi</body></message>");
        await peer.SendAsync(after.ToString());
        var marked = await h.NextStanzaAsync();
        for (var i = 0; i < 100; i++)
            Assert.That((string?)(await h.NextStanzaAsync()).Attribute("id"), Is.EqualTo($"after-{i}"), "the stanzas after it arrive, in order");
        Assert.That(h.Log.At(LogLevel.Error), Is.Empty, h.Log.ToString());
        Assert.That(h.Log.ToString(), Does.Not.Contain("retrying"), "no reconnect");
        Assert.That(await peer.TryReadAsync(TimeSpan.FromMilliseconds(50)), Is.EqualTo(-1), "the component did not close the stream");
        Assert.That(h.Log.At(LogLevel.Warning).Count(w => w.Contains("over a per-stanza limit", StringComparison.Ordinal)), Is.EqualTo(1), h.Log.ToString());
        return marked;
    }

    /// <summary>A tap copy of a chat message whose payload is <paramref name="payload"/>.</summary>
    private static string TapCopy(string payload, string id = "hostile") =>
        "<message from='example.test' to='archive.example.test'><forwarded xmlns='urn:xmpp:forward:0'>" +
        $"<message xmlns='jabber:client' from='mallory@example.test/x' to='bob@example.test' type='chat' id='{id}'>{payload}</message></forwarded></message>";

    private static string Nested(int levels, string inner = "")
    {
        var sb = new StringBuilder();
        for (var i = 0; i < levels; i++) sb.Append("<x xmlns='urn:example:deep'>");
        sb.Append(inner);
        for (var i = 0; i < levels; i++) sb.Append("</x>");
        return sb.ToString();
    }

    private static XElement Inner(XElement copy) => copy.Element(Forward + "forwarded")!.Element(Client + "message")!;

    [Test, CancelAfter(30_000)]
    public async Task StanzaNestedDeeperThanTheLimit_IsSkippedByItself_AndTheStreamGoesOn()
    {
        await using var h = new Harness().Start();
        var copy = await DeliverThenFollowAsync(h, p => p.SendAsync(TapCopy("<body>hello</body>" + Nested(130, "deep secret") + "<body xml:lang='de'>hallo</body>")));

        var over = StanzaLimits.Read(copy);
        Assert.That(over, Is.Not.Null);
        Assert.That(over!.TooDeep, Is.True);
        Assert.That(over.TooLarge, Is.False);
        Assert.That(over.Depth, Is.EqualTo(133), "message, forwarded, message, then 130 levels");
        var inner = Inner(copy);
        Assert.That((string?)inner.Attribute("from"), Is.EqualTo("mallory@example.test/x"), "the envelope and the sender stay visible");
        Assert.That((string?)inner.Attribute("id"), Is.EqualTo("hostile"));
        Assert.That(StanzaLimits.IsCut(inner), Is.True);
        Assert.That(inner.Elements(Client + "body").Select(b => b.Value), Is.EqualTo(new[] { "hello", "hallo" }), "what follows the deep subtree is kept");
        var cut = inner.Descendants(StanzaLimits.Cut).Single();
        Assert.That(cut.Ancestors().Count(), Is.EqualTo(StanzaLimits.MaxDepth), "kept up to the limit");
        Assert.That(cut.Value, Is.EqualTo("deep secret"), "the skipped text's beginning is kept at the cut");
    }

    [Test, CancelAfter(30_000)]
    public async Task FiftyThousandLevels_UnderTheSizeLimit_AreSkippedWithoutReconnecting()
    {
        await using var h = new Harness().Start();
        var copy = await DeliverThenFollowAsync(h, p => p.SendAsync(TapCopy(Nested(50_000))));
        Assert.That(StanzaLimits.Read(copy)!.Depth, Is.EqualTo(50_003));
    }

    [Test, CancelAfter(30_000)]
    public async Task StanzaOverTheSizeLimit_IsKeptUpToTheLimit_AndMarked()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 64 * 1024).Start();
        var payload = new StringBuilder("<body>the start</body>");
        for (var i = 0; i < 5_000; i++) payload.Append("<item xmlns='urn:example:many' n='").Append(i).Append("'>some text</item>");
        var copy = await DeliverThenFollowAsync(h, p => p.SendAsync(TapCopy(payload.ToString())));

        var over = StanzaLimits.Read(copy)!;
        Assert.That(over.TooLarge, Is.True);
        Assert.That(over.TooDeep, Is.False);
        Assert.That(over.MaxBytes, Is.EqualTo(64 * 1024));
        Assert.That(over.Bytes, Is.EqualTo(Encoding.UTF8.GetByteCount(TapCopy(payload.ToString()))).Within(CountingStream.MaxRead), "measured on the raw stream");
        var inner = Inner(copy);
        Assert.That(inner.Element(Client + "body")!.Value, Is.EqualTo("the start"));
        var kept = inner.Elements(XName.Get("item", "urn:example:many")).Count();
        Assert.That(kept, Is.InRange(1_000, 5_000 - 1), "kept up to the limit, not beyond");
        Assert.That(copy.ToString(SaveOptions.DisableFormatting).Length, Is.LessThan(64 * 1024 + 8 * 1024));
    }

    [Test, CancelAfter(60_000)]
    public async Task HugeTextNode_IsReadInChunks_WithBoundedMemory_OnTheSameStream()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 64 * 1024).Start();
        long peak = 0;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                await Task.Delay(5);
            }
        });
        var chunk = Encoding.ASCII.GetBytes(new string('x', 1024 * 1024));
        var copy = await DeliverThenFollowAsync(h, async p =>
        {
            var open = TapCopy("<body>SPLIT</body>");
            var at = open.IndexOf("SPLIT", StringComparison.Ordinal);
            await p.SendAsync("" + open[..at] + "begins here ");
            for (var i = 0; i < 32; i++) await p.SendAsync(chunk);
            await p.SendAsync(open[(at + 5)..]);
        });
        await sampling.CancelAsync();
        await sampler;
        TestContext.Out.WriteLine($"managed heap peak {(peak - baseline) / 1048576} MB over baseline for a 32 MB text node");
        // A buffered 32 MB body would be 64 MB of UTF-16.
        Assert.That(peak - baseline, Is.LessThan(24L * 1024 * 1024));

        var over = StanzaLimits.Read(copy)!;
        Assert.That(over.TooLarge, Is.True);
        Assert.That(over.Bytes, Is.GreaterThan(32L * 1024 * 1024 - CountingStream.MaxRead), "measured to within one read");
        var body = Inner(copy).Element(Client + "body")!;
        Assert.That(body.Nodes().OfType<XText>().Single().Value, Does.StartWith("begins here xxx"));
        Assert.That(body.Value.Length, Is.InRange(60 * 1024, 72 * 1024), "the text is kept up to the limit, the sample beyond it");
        Assert.That(body.Element(StanzaLimits.Cut)!.Value, Is.EqualTo(new string('x', StanzaLimits.SampleChars)));
    }

    [Test, CancelAfter(30_000)]
    public async Task HugeAttributeBelowTheHardCap_IsCut_AndTheStreamGoesOn()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 64 * 1024).Start();
        var copy = await DeliverThenFollowAsync(h, p => p.SendAsync(TapCopy($"<body>hi</body><x xmlns='urn:example:attr' data='{new string('a', 2 * 1024 * 1024)}'><y/></x>")));
        Assert.That(StanzaLimits.Read(copy)!.TooLarge, Is.True);
        var x = Inner(copy).Element(XName.Get("x", "urn:example:attr"))!;
        Assert.That(((string?)x.Attribute("data"))!.Length, Is.EqualTo(1024), "the attribute is cut");
        Assert.That(x.Elements().Single().Name, Is.EqualTo(StanzaLimits.Cut), "nothing after the cut is kept");
        Assert.That(Inner(copy).Element(Client + "body")!.Value, Is.EqualTo("hi"));
    }

    [Test, CancelAfter(30_000)]
    public async Task InABatch_OnlyTheItemTooDeepIsCut_TheOthersAreWhole()
    {
        await using var h = new Harness().Start();
        const string batch = "<iq type='set' id='b1' from='example.test' to='archive.example.test'><batch xmlns='urn:imlogger:inline:0'>" +
                             "<item id='1'><message xmlns='jabber:client' id='m1'><body>first</body></message></item>" +
                             "<item id='2'><message xmlns='jabber:client' id='m2'>{0}</message></item>" +
                             "<item id='3'><message xmlns='jabber:client' id='m3'><body>third</body></message></item></batch></iq>";
        var iq = await DeliverThenFollowAsync(h, p => p.SendAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, batch, Nested(200))));
        var items = iq.Descendants(XName.Get("item", "urn:imlogger:inline:0")).ToList();
        Assert.That(items.Select(StanzaLimits.IsCut), Is.EqualTo(new[] { false, true, false }));
        Assert.That(items[2].Value, Is.EqualTo("third"));
    }

    [Test, CancelAfter(30_000)]
    public async Task MarksWrittenByAClient_AreNotMistakenForTheReaders()
    {
        await using var h = new Harness().Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        await peer.SendAsync(TapCopy("<body>hi</body><cut xmlns='urn:imlogger:limits:0' reason='size'>forged</cut>" +
                                     "<over-limit xmlns='urn:imlogger:limits:0' reason='size' bytes='999999'/>"));
        var copy = await h.NextStanzaAsync();
        Assert.That(StanzaLimits.Read(copy), Is.Null);
        Assert.That(StanzaLimits.Read(Inner(copy)), Is.Null);
        Assert.That(StanzaLimits.IsCut(copy), Is.False);
        Assert.That(h.Log.At(LogLevel.Warning), Is.Empty);
    }

    [Test, CancelAfter(30_000)]
    public async Task StanzaAtTheLimits_IsDeliveredWhole_AndUnmarked()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 64 * 1024).Start();
        using var peer = await h.Server.AcceptAsync();
        await peer.HandshakeAsync();
        // 125 levels inside the 3 of the envelope: exactly the limit.
        await peer.SendAsync(TapCopy(Nested(StanzaLimits.MaxDepth - 3, "bottom") + $"<body>{new string('y', 40 * 1024)}</body>"));
        var copy = await h.NextStanzaAsync();
        Assert.That(StanzaLimits.Read(copy), Is.Null);
        Assert.That(StanzaLimits.IsCut(copy), Is.False);
        Assert.That(Inner(copy).Descendants().Last().Value, Is.EqualTo(new string('y', 40 * 1024)));
        Assert.That(copy.Descendants().Max(e => e.Ancestors().Count()) + 1, Is.EqualTo(StanzaLimits.MaxDepth));
    }
    [Test, CancelAfter(30_000)]
    public async Task TextInAnotherScriptAndEmoji_IsNeverCutInHalfACharacter()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 64 * 1024).Start();
        // 3 UTF-16 units per repetition, so that a cut at 1,024 units falls inside a surrogate pair.
        var text = string.Concat(Enumerable.Repeat("日😀", 60_000));
        var attribute = string.Concat(Enumerable.Repeat("é😀", 60_000));
        var copy = await DeliverThenFollowAsync(h, p => p.SendAsync(TapCopy($"<body>{text}</body><x xmlns='urn:example:attr' data='{attribute}'/>")));
        Assert.That(StanzaLimits.Read(copy)!.TooLarge, Is.True);
        Assert.DoesNotThrow(() => copy.ToString(SaveOptions.DisableFormatting), "the delivered tree can be written out");
        var sample = Inner(copy).Descendants(StanzaLimits.Cut).Single().Value;
        Assert.That(sample, Has.Length.InRange(StanzaLimits.SampleChars - 1, StanzaLimits.SampleChars));
        Assert.That(char.IsHighSurrogate(sample[^1]), Is.False);
    }

    [Test, CancelAfter(30_000)]
    public async Task ASubtreeSkippedForItsDepthStillCountsTowardsTheSize()
    {
        await using var h = new Harness(o => o.MaxStanzaBytes = 64 * 1024).Start();
        var copy = await DeliverThenFollowAsync(h, p => p.SendAsync(TapCopy("<body>before</body>" + Nested(200, new string('d', 200 * 1024)) + "<body>after</body>")));
        var over = StanzaLimits.Read(copy)!;
        Assert.That((over.TooDeep, over.TooLarge), Is.EqualTo((true, true)), "both limits are reported");
        Assert.That(Inner(copy).Elements(Client + "body").Select(b => b.Value), Is.EqualTo(new[] { "before" }), "after the size cut nothing more is kept");
        Assert.That(Inner(copy).Descendants(StanzaLimits.Cut).Select(c => (string?)c.Attribute("reason")), Is.EqualTo(new[] { "depth", "size" }));
    }
}
