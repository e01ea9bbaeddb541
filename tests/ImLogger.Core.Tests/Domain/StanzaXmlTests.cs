using System.Xml.Linq;
using ImLogger.Tests.Classifier;
using ImLogger.Domain;
using ImLogger.Envelope;

namespace ImLogger.Tests.Domain;

/// <summary><see cref="StanzaXml.Compact"/> writes exactly what <c>ToString(SaveOptions.DisableFormatting)</c> wrote (the
/// raw XML of every archived event went through that), with one writer per thread instead of one per call.</summary>
public class StanzaXmlTests
{
    private static IEnumerable<XElement> EveryRecordedStanza()
    {
        var names = typeof(StanzaXmlTests).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("ImLogger.Core.Tests.Resources.", StringComparison.Ordinal) && n.EndsWith(".xml", StringComparison.Ordinal))
            .Select(n => n["ImLogger.Core.Tests.Resources.".Length..]);
        foreach (var name in names)
            foreach (var outer in Recordings.Stanzas(name))
            {
                yield return outer;
                foreach (var inner in outer.Descendants()) yield return inner; // attached: namespaces come from the ancestors
            }
    }

    [Test]
    public void EveryRecordedStanzaAndEachOfItsElementsIsWrittenAsToStringWroteIt()
    {
        var count = 0;
        foreach (var e in EveryRecordedStanza())
        {
            Assert.That(StanzaXml.Compact(e), Is.EqualTo(e.ToString(SaveOptions.DisableFormatting)), e.ToString());
            count++;
        }
        Assert.That(count, Is.GreaterThan(300), "the recordings are the corpus (320 elements when written)");
    }

    [TestCase("<message xmlns='jabber:client'><body>a &lt; b &amp; c \"q\" 'a' &#xD;&#xA; tab&#x9;</body></message>")]
    [TestCase("<a:message xmlns:a='jabber:client' xmlns:b='urn:x'><b:x b:attr='1' xml:lang='de'/><c xmlns=''/></a:message>")]
    [TestCase("<message xmlns='jabber:client' to='x&amp;y' a='&lt;&gt;&quot;'><![CDATA[<not markup>]]><!-- a comment --><?pi data?></message>")]
    [TestCase("<message xmlns='jabber:client'><body>\U0001F600 emoji, ümlaut, 中文</body></message>")]
    public void HostileAndUnusualMarkupIsWrittenAsToStringWroteIt(string xml)
    {
        var e = XElement.Parse(xml);
        Assert.That(StanzaXml.Compact(e), Is.EqualTo(e.ToString(SaveOptions.DisableFormatting)));
    }

    [Test]
    public void NamesWithoutAPrefixGetTheSameGeneratedPrefixesOnEveryCall()
    {
        // Built in code, a namespaced attribute has no declared prefix: the writer makes one up, and a writer kept
        // between calls must not count on from the previous element.
        XNamespace ns = "urn:example:attr";
        var e = new XElement(Ns.Client + "message", new XAttribute(ns + "one", "1"), new XElement(Ns.Client + "body", new XAttribute(ns + "two", "2")));
        var expected = e.ToString(SaveOptions.DisableFormatting);
        Assert.That(StanzaXml.Compact(e), Is.EqualTo(expected));
        Assert.That(StanzaXml.Compact(e), Is.EqualTo(expected));
    }

    [Test]
    public void HalfASurrogatePairThrowsAsToStringDoesAndTheNextCallWorks()
    {
        var broken = new XElement(Ns.Client + "body", "cut \uD83D");
        var expected = Assert.Catch(() => broken.ToString(SaveOptions.DisableFormatting))!.GetType();
        Assert.That(Assert.Catch(() => StanzaXml.Compact(broken))!.GetType(), Is.EqualTo(expected));
        var fine = XElement.Parse("<message xmlns='jabber:client'><body>next</body></message>");
        Assert.That(StanzaXml.Compact(fine), Is.EqualTo(fine.ToString(SaveOptions.DisableFormatting)));
    }

    [Test]
    public void AHugeStanzaThenASmallOneAreEachWrittenWhole()
    {
        var huge = new XElement(Ns.Client + "message", new XElement(Ns.Client + "body", new string('x', 300_000)));
        var small = XElement.Parse("<message xmlns='jabber:client'><body>small</body></message>");
        Assert.That(StanzaXml.Compact(huge), Is.EqualTo(huge.ToString(SaveOptions.DisableFormatting)));
        Assert.That(StanzaXml.Compact(small), Is.EqualTo(small.ToString(SaveOptions.DisableFormatting)));
    }

    [Test]
    public void ThreadsDoNotShareAWriter()
    {
        var stanzas = EveryRecordedStanza().Take(400).ToList();
        var expected = stanzas.Select(s => s.ToString(SaveOptions.DisableFormatting)).ToList();
        var mismatches = 0;
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < stanzas.Count; i++)
                if (StanzaXml.Compact(stanzas[i]) != expected[i]) Interlocked.Increment(ref mismatches);
        });
        Assert.That(mismatches, Is.Zero);
    }

    /// <summary>The reason for the class: no 12 KB writer buffer per call. Bytes allocated on this thread do not depend on
    /// the machine's load; the bound leaves room for the result string and the runtime's own variation.</summary>
    [Test]
    public void WritingASmallStanzaAllocatesLittleMoreThanItsText()
    {
        var stanza = XElement.Parse("<message xmlns='jabber:client' from='alice@example.test/l' to='bob@example.test' type='chat' id='m1'><body>hello bob</body></message>");
        for (var i = 0; i < 20; i++) StanzaXml.Compact(stanza); // JIT and the thread's writer
        var before = GC.GetAllocatedBytesForCurrentThread();
        const int Calls = 100;
        for (var i = 0; i < Calls; i++) StanzaXml.Compact(stanza);
        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / Calls;
        var viaToString = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Calls; i++) stanza.ToString(SaveOptions.DisableFormatting);
        var perToString = (GC.GetAllocatedBytesForCurrentThread() - viaToString) / Calls;
        TestContext.Out.WriteLine($"Compact: {perCall} bytes per call; ToString: {perToString}");
        Assert.That(perCall, Is.LessThan(2_000), "one string of about 300 bytes, the writer's element and namespace scopes");
        Assert.That(perCall * 5, Is.LessThan(perToString));
    }
}
