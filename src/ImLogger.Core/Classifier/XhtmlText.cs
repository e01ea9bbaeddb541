using System.Text;
using System.Xml.Linq;
using ImLogger.Envelope;

namespace ImLogger.Classifier;

/// <summary>
/// The text equivalent of an XHTML-IM body (XEP-0071): text nodes in order, line breaks for
/// &lt;br/&gt; and block elements, and each &lt;img&gt; as its alt text, which is how clients
/// carry emoticons (<c>&lt;img alt=":-)" src="..."/&gt;</c>).
/// </summary>
public static class XhtmlText
{
    private static readonly HashSet<string> Blocks = ["p", "div", "li", "blockquote", "body", "h1", "h2", "h3", "h4", "h5", "h6", "pre"];

    public static string ToText(XElement xhtmlBody)
    {
        var sb = new StringBuilder();
        Append(xhtmlBody, sb);
        return sb.ToString().Trim();
    }

    private static void Append(XElement e, StringBuilder sb)
    {
        foreach (var node in e.Nodes())
        {
            switch (node)
            {
                case XText t:
                    sb.Append(t.Value);
                    break;
                case XElement child when child.Name.LocalName == "img":
                    var alt = (string?)child.Attribute("alt");
                    sb.Append(string.IsNullOrEmpty(alt) ? "[image]" : alt);
                    break;
                case XElement child when child.Name.LocalName == "br":
                    sb.Append('\n');
                    break;
                case XElement child when child.Name.LocalName is "script" or "style":
                    break; // not text a person reads
                case XElement child:
                    var block = Blocks.Contains(child.Name.LocalName);
                    if (block && sb.Length > 0 && sb[^1] != '\n') sb.Append('\n');
                    Append(child, sb);
                    // A link whose text hides its target: the archive shows where it pointed.
                    if (child.Name.LocalName == "a" && (string?)child.Attribute("href") is { Length: > 0 } href && !child.Value.Contains(href, StringComparison.Ordinal))
                        sb.Append(" <").Append(href).Append('>');
                    if (block && sb.Length > 0 && sb[^1] != '\n') sb.Append('\n');
                    break;
            }
        }
    }

    /// <summary>The first XHTML body of a message's XHTML-IM payload (xml:lang variants: the first wins).</summary>
    public static XElement? FindBody(XElement message) =>
        message.Element(Ns.XhtmlIm + "html")?.Element(Ns.Xhtml + "body");
}
