using System.Xml.Linq;
using ImLogger.Classifier;
using ImLogger.Domain;

namespace ImLogger.Tests.Classifier;

/// <summary>The coverage pass reads the alt texts of an event's XHTML in place (<c>CoverageCheck.ScannedImageAlts</c>)
/// instead of parsing a tree: it must read exactly what the parse reads, or decline (null) so that the parse decides.</summary>
public class CoverageImageAltTests
{
    private static List<string> Parsed(string xml) =>
        XElement.Parse(xml).DescendantsAndSelf().Where(e => e.Name.LocalName == "img").Select(e => ((string?)e.Attribute("alt") ?? "").Trim()).ToList();

    private static IEnumerable<XElement> EveryRecordedElement()
    {
        var names = typeof(CoverageImageAltTests).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("ImLogger.Core.Tests.Resources.", StringComparison.Ordinal) && n.EndsWith(".xml", StringComparison.Ordinal))
            .Select(n => n["ImLogger.Core.Tests.Resources.".Length..]);
        foreach (var name in names)
            foreach (var outer in Recordings.Stanzas(name))
                foreach (var e in outer.DescendantsAndSelf()) yield return e;
    }

    [Test]
    public void EveryRecordedElement_AsTheEventsXhtmlIsWritten_ReadsAsTheParseReadsIt()
    {
        var scanned = 0;
        foreach (var e in EveryRecordedElement())
        {
            var xml = StanzaXml.Compact(e);
            var alts = CoverageCheck.ScannedImageAlts(xml);
            Assert.That(alts, Is.Not.Null, xml);
            Assert.That(alts, Is.EqualTo(Parsed(xml)), xml);
            scanned++;
        }
        Assert.That(scanned, Is.GreaterThan(300));
    }

    [TestCase("<img alt=':-)'/>", Description = "single quotes: not the writer's form")]
    [TestCase("<p><!-- <img alt=\"x\"/> --></p>")]
    [TestCase("<p><![CDATA[<img alt=\"x\"/>]]></p>")]
    [TestCase("<?pi x?><p/>")]
    [TestCase("<p><img alt=\"&nbsp;\"/></p>", Description = "an entity XML does not define")]
    [TestCase("<p><img alt=\"x\"/>", Description = "not closed")]
    [TestCase("<p><img alt=\"x\"/></q>", Description = "closed by another name")]
    [TestCase("<p/><p/>", Description = "two roots")]
    [TestCase("text<p/>", Description = "text outside the root")]
    [TestCase("<p><img alt=\"a\" alt=\"b\"/></p>", Description = "an attribute twice")]
    [TestCase("<p><img alt=\"a<b\"/></p>")]
    [TestCase("<p><img alt=\"&#xD800;\"/></p>", Description = "half a surrogate pair")]
    [TestCase("<p><img alt=\"&#0;\"/></p>")]
    [TestCase("<p><img alt=x/></p>")]
    [TestCase("<p><img alt=\"x\"/ ></p>")]
    [TestCase("<p><img alt=\"x\"", Description = "cut")]
    [TestCase("<", Description = "cut")]
    public void MarkupOutsideTheWritersPlainForm_IsLeftToTheParse(string xml)
    {
        Assert.That(CoverageCheck.ScannedImageAlts(xml), Is.Null);
    }

    [TestCase("<p><img alt=\" :-) \"/></p>", ":-)")]
    [TestCase("<x:p xmlns:x=\"http://www.w3.org/1999/xhtml\"><x:img alt=\"&lt;3\"/></x:p>", "<3")]
    [TestCase("<p><img x:alt=\"no\" xmlns:x=\"urn:x\"/></p>", "")]
    [TestCase("<p><img/></p>", "")]
    [TestCase("<p><image alt=\"no\"/><img alt=\"&#x1F600;&amp;&quot;&apos;&gt;\"/></p>", "😀&\"'>")]
    [TestCase("<p>a > b <img src=\"s\" alt=\"tab&#x9;here\" /></p>", "tab\there")]
    [TestCase("<p><img alt=\"line\r\nend\ttab\"/></p>", "line end tab")]
    [TestCase("<p><img alt=\"first\"></img><span>t</span></p >", "first")]
    public void WhatItReads_IsWhatTheParseReads(string xml, string alt)
    {
        var scanned = CoverageCheck.ScannedImageAlts(xml);
        Assert.That(scanned, Is.EqualTo(Parsed(xml)));
        Assert.That(scanned, Is.EqualTo(new[] { alt }));
    }
}
