using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace ImLogger.Xmpp.Tests;

/// <summary>
/// The component's stream parser on mutated copies of a stream recorded from Prosody, sent by a fake server over
/// loopback: whatever arrives, the connection delivers well-formed stanzas (which serialise again, as the archive
/// needs), or drops the stream with a logged reason and reconnects; it never ends or faults. A fixed budget in the
/// suite; IMLOGGER_FUZZ_SECONDS and IMLOGGER_FUZZ_SEED make a long run.
/// </summary>
[TestFixture]
public class StreamFuzzTests
{
    private static readonly string[] Insertions =
    [
        "<", ">", "/>", "</", "&", "&amp;", "&lol;", "&#0;", "&#x110000;", "]]>", "<![CDATA[", "<!--", "-->", "<?xml version='1.0'?>", "<?pi x?>",
        "<!DOCTYPE x [<!ENTITY lol 'lol'>]>", "xmlns=''", "xmlns:p=''", "p:a='1'", " a='1' a='2'", "xml:lang='\u00e9'", "<a><a><a><a>",
        "</stream:stream>", "<stream:stream>", "\u0000", "\u00ff", "\ud83d\ude00", "\u202e", "\r\n", "\t", "'", "\"",
    ];

    private static IReadOnlyList<string> RecordedStanzas() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Resources", "prosody-tap-session.xml"))
            .Where(l => l.StartsWith("<message ", StringComparison.Ordinal) || l.StartsWith("<presence ", StringComparison.Ordinal) || l.StartsWith("<iq ", StringComparison.Ordinal))
            .ToList();

    private static byte[] Mutate(Random random, string stanza)
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(stanza));
        for (var n = 1 + random.Next(3); n > 0 && bytes.Count > 0; n--)
        {
            var at = random.Next(bytes.Count);
            var length = Math.Min(bytes.Count - at, 1 + random.Next(30));
            switch (random.Next(5))
            {
                case 0: bytes.RemoveRange(at, length); break;
                case 1: bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(at, length)); break;
                case 2: bytes.InsertRange(at, Encoding.UTF8.GetBytes(Insertions[random.Next(Insertions.Length)])); break;
                case 3: bytes[at] = (byte)random.Next(256); break; // may break UTF-8 too
                default: bytes[at] ^= (byte)(1 << random.Next(8)); break;
            }
        }
        return [.. bytes];
    }

    [Test, CancelAfter(120_000)]
    public async Task MutatedRecordedStreamNeverStopsTheConnection()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("IMLOGGER_FUZZ_SEED"), out var s) ? s : 8;
        var budget = double.TryParse(Environment.GetEnvironmentVariable("IMLOGGER_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var b)
            ? TimeSpan.FromSeconds(b) : TimeSpan.FromSeconds(3);
        var random = new Random(seed);
        var recorded = RecordedStanzas();
        var delivered = 0;
        var sentinels = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        // Reconnect at once: most mutations end the stream, and the budget is for parsing, not for waiting.
        await using var h = new Harness(o => (o.InitialReconnectDelay, o.MaxReconnectDelay) = (TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2))).Start((stanza, ct) =>
        {
            // What the archive does with every stanza: keep it as XML text. A tree that cannot be written back fails here.
            _ = stanza.ToString(SaveOptions.DisableFormatting);
            if (((string?)stanza.Attribute("id"))?.StartsWith("sentinel-", StringComparison.Ordinal) == true) sentinels[(string)stanza.Attribute("id")!] = true;
            Interlocked.Increment(ref delivered);
            return ValueTask.CompletedTask;
        });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int streams = 0, mutations = 0, survived = 0;
        while (watch.Elapsed < budget)
        {
            using var peer = await h.Server.AcceptAsync();
            await peer.HandshakeAsync();
            streams++;
            for (var i = 0; i < 50 && watch.Elapsed < budget; i++)
            {
                var sentinel = $"sentinel-{mutations++}";
                try
                {
                    await peer.SendAsync(Mutate(random, recorded[random.Next(recorded.Count)]));
                    await peer.SendAsync($"<message id='{sentinel}'/>");
                }
                catch (IOException) { break; }
                // Either the sentinel arrives (the stream survived the mutation), the component drops the stream, or the
                // mutation left an element open that swallows what follows: then this server gives up on the stream.
                var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(100);
                var closed = false;
                while (!sentinels.ContainsKey(sentinel) && DateTime.UtcNow < deadline && !h.Run.IsCompleted && !closed)
                {
                    try { closed = await peer.TryReadAsync(TimeSpan.FromMilliseconds(5)) == 0; }
                    catch (IOException) { closed = true; }
                }
                if (h.Run.IsCompleted || !sentinels.ContainsKey(sentinel)) break;
                survived++;
            }
            if (h.Run.IsCompleted) break;
        }
        TestContext.Out.WriteLine($"seed {seed}: {mutations} mutations over {streams} streams; {survived} survived in-stream, {delivered} stanzas delivered");
        Assert.That(h.Run.IsCompleted, Is.False, $"the connection ended: {(h.Run.IsFaulted ? h.Run.Exception!.InnerException : "completed")}\n{h.Log}");
        Assert.That(streams, Is.GreaterThan(5), "the fuzz budget ran");
        Assert.That(h.Log.Entries.Where(e => e.Level >= LogLevel.Error && !e.Message.Contains("malformed or forbidden XML") && !e.Message.Contains("broke the XMPP protocol")
                                             && !e.Message.Contains("larger than")).Select(e => e.Message), Is.Empty, "every refusal has a known reason");

        // And after all that, an ordinary stanza on a fresh stream is delivered.
        using var last = await h.Server.AcceptAsync();
        await last.HandshakeAsync();
        await last.SendAsync("<message id='sentinel-last'/>");
        var until = DateTime.UtcNow + FakeServer.Timeout;
        while (!sentinels.ContainsKey("sentinel-last") && DateTime.UtcNow < until) await Task.Delay(10);
        Assert.That(sentinels.ContainsKey("sentinel-last"), Is.True);
    }
}
