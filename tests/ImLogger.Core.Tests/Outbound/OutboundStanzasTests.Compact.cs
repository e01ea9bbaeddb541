using System.Xml.Linq;
using ImLogger.Outbound;

namespace ImLogger.Tests.Outbound;

/// <summary>Compact allows (docs/inline-protocol.md, "Response"): only for a request that asks, only plain allows whose id
/// is a token; everything else exactly as before.</summary>
public partial class OutboundStanzasTests
{
    private const string CompactRequest = "<iq xmlns='jabber:component:accept' type='set' id='imlogger-8' from='example.test' to='imlogger.example.test'>" +
                                          "<batch xmlns='urn:imlogger:inline:0' verdicts='compact'><item id='1'/></batch></iq>";

    [Test]
    public void ARequestThatAsksGetsItsPlainAllowsInOneAttribute_DeniesAndUnloggedAsElements()
    {
        var answer = OutboundStanzas.Verdicts(Request(CompactRequest), [
            new ItemVerdict("1", true),
            new ItemVerdict("2", true, Unlogged: true),
            new ItemVerdict("3", false, ErrorType: "modify", Condition: "not-acceptable", Text: "no & <no>"),
            new ItemVerdict("4", true),
        ]);
        Assert.That(Xml(answer), Is.EqualTo(
            "<iq type=\"result\" id=\"imlogger-8\" from=\"imlogger.example.test\" to=\"example.test\" xmlns=\"jabber:component:accept\">" +
            "<verdicts allow=\"1 4\" xmlns=\"urn:imlogger:inline:0\">" +
            "<allow item=\"2\" unlogged=\"true\" />" +
            "<deny item=\"3\" type=\"modify\" condition=\"not-acceptable\"><text xml:lang=\"en\">no &amp; &lt;no&gt;</text></deny>" +
            "</verdicts></iq>"));
    }

    [Test]
    public void AllDeniedOrNotAsked_NoAllowAttribute()
    {
        var denied = OutboundStanzas.Verdicts(Request(CompactRequest), [new ItemVerdict("1", false)]);
        var notAsked = OutboundStanzas.Verdicts(Request(CompactRequest.Replace(" verdicts='compact'", "", StringComparison.Ordinal)), [new ItemVerdict("1", true)]);
        var otherValue = OutboundStanzas.Verdicts(Request(CompactRequest.Replace("'compact'", "'COMPACT'", StringComparison.Ordinal)), [new ItemVerdict("1", true)]);
        Assert.Multiple(() =>
        {
            Assert.That(Xml(denied), Does.Contain("<verdicts xmlns=\"urn:imlogger:inline:0\"><deny item=\"1\""));
            Assert.That(Xml(notAsked), Does.Contain("<verdicts xmlns=\"urn:imlogger:inline:0\"><allow item=\"1\" /></verdicts>"), "an adapter that does not ask (ejabberd) gets elements");
            Assert.That(Xml(otherValue), Does.Contain("<allow item=\"1\" />"), "only the exact value asks");
        });
    }

    /// <summary>Ids an adapter chose that would not survive a space-separated list (spaces, tabs and line breaks, which XML
    /// turns into spaces in an attribute, DEL, the empty id; XML has no other control character to put there) stay elements; quotes and markup in an id are
    /// escaped in the list and read back as one token.</summary>
    [Test]
    public void IdsThatAreNotTokensStayElements_MarkupInAnIdStaysOneToken()
    {
        string[] notTokens = ["a b", "a\tb", "a\nb", "a\rb", "", "a\u007fb"];
        var answer = OutboundStanzas.Verdicts(Request(CompactRequest),
            [.. notTokens.Select(id => new ItemVerdict(id, true)), new ItemVerdict("x\"/><deny/><allow", true), new ItemVerdict("z&amp;", true)]);
        var back = XElement.Parse(answer.ToString(SaveOptions.DisableFormatting)).Element(OutboundStanzas.InlineNs + "verdicts")!;
        Assert.Multiple(() =>
        {
            Assert.That(back.Elements(OutboundStanzas.InlineNs + "allow").Select(e => (string?)e.Attribute("item")), Is.EqualTo(notTokens), "each as an element");
            Assert.That(((string?)back.Attribute("allow"))!.Split(' '), Is.EqualTo(new[] { "x\"/><deny/><allow", "z&amp;" }), "escaped, one token each");
            Assert.That(back.Elements(OutboundStanzas.InlineNs + "deny"), Is.Empty, "nothing smuggled in");
        });
    }
}
